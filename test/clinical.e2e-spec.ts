import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Bundle, Composition, Extension, Resource } from 'fhir/r4';
import { FACT_SOURCES_EXTENSION, IPS_SECTIONS } from '@fa/clinical';
import { aggregateIdOf } from '@fa/ingestion';
import {
  clinicalSources,
  ClinicalSources,
  ipsDocumentProblems,
  ipsSectionReferences,
  scoreFactLinks,
} from '@fa/testkit';
import { AggregatorHarness, REPO_ROOT, startAggregator } from './support/aggregator-harness';

const DATA = path.resolve(REPO_ROOT, '..', 'shared', 'data');
const SYNTHEA_79 = process.env.SYNTHEA_79_DIR ?? path.join(DATA, 'synthea-79');
const SYNTHEA_13 = path.join(DATA, 'synthea-13');
const PATIENTS = 8;

interface LinkRow {
  aKey: string;
  bKey: string;
}

describe('Clinical: facts matched across sources, de-duplicated $everything, IPS $summary, timeline, as of any instant', () => {
  let harness: AggregatorHarness;
  let sources: ClinicalSources;
  let extraDir: string;
  /** Our hospital-a patient id -> its golden patient. */
  const goldenOf = new Map<string, string>();

  const currentLinks = async (): Promise<LinkRow[]> =>
    (
      await harness.database.pool.query<LinkRow>(
        `SELECT a_key AS "aKey", b_key AS "bKey" FROM clinical_facts.fact_links WHERE recorded_to IS NULL`,
      )
    ).rows;
  const ours = (source: string, type: string, id: string) => aggregateIdOf(source, type, id);
  /** The resource as its source sent it (from the generated files), to send a new version of it. */
  const originalOf = async (reference: string) => {
    const stored = (await harness.http().get(`/fhir/${reference}`).expect(200)).body as Resource;
    const [system, record] = stored.meta!.source!.split('#');
    const source = system.split(':').pop()!;
    const [type, sourceId] = record.split('/');
    const dir = source === 'hospital-a' ? sources.hospitalDir : sources.clinicDir;
    const lines = (await fs.readFile(path.join(dir, `${type}.ndjson`), 'utf8')).split('\n');
    const original = lines
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r.id === sourceId)!;
    return { source, original };
  };

  beforeAll(async () => {
    if (!existsSync(SYNTHEA_79))
      throw new Error(`${SYNTHEA_79} is missing: place ../shared/data beside the project`);
    sources = await clinicalSources({ dataDir: SYNTHEA_79, patients: PATIENTS, seed: 5 });
    extraDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-clinical-'));
    harness = await startAggregator();
    await harness.ingest('hospital-a', [sources.hospitalDir]);
    await harness.ingest('clinic-b', [sources.clinicDir]);
    await harness.ingest('clinic-c', [SYNTHEA_13]);
    const { rows } = await harness.database.pool.query<{ golden_id: string; source_patient_id: string }>(
      `SELECT golden_id, source_patient_id FROM patient_identity.links WHERE recorded_to IS NULL`,
    );
    for (const row of rows) goldenOf.set(row.source_patient_id, row.golden_id);
  });
  afterAll(async () => {
    await harness?.close();
    await sources?.close();
    if (extraDir) await fs.rm(extraDir, { recursive: true, force: true });
  });

  it('links the same facts of both sources with precision >= 0.99 and recall >= 0.98 per type, none of clinic-c', async () => {
    // Identity first: every clinic-b patient is in the golden patient of its hospital-a original.
    for (const [hospitalId, clinicId] of sources.patients) {
      expect(goldenOf.get(ours('clinic-b', 'Patient', clinicId))).toBe(
        goldenOf.get(ours('hospital-a', 'Patient', hospitalId)),
      );
    }
    const links = await currentLinks();
    const scores = scoreFactLinks(sources.truth, links);
    expect(sources.truth.length).toBeGreaterThan(500);
    for (const [type, score] of scores) {
      expect({ type, precision: score.precision >= 0.99, recall: score.recall >= 0.98, score }).toMatchObject(
        {
          type,
          precision: true,
          recall: true,
        },
      );
    }
    // Near misses (a copy days later) are facts only clinic-b holds: never linked.
    expect(sources.nearMisses.length).toBeGreaterThan(20);
    const linked = new Set(links.flatMap((l) => [l.aKey, l.bKey]));
    const nearMissesLinked = sources.nearMisses.filter((m) =>
      linked.has(`${m.resourceType}/${ours('clinic-b', m.resourceType, m.clinicId)}`),
    );
    expect(nearMissesLinked).toEqual([]);
    const { rows } = await harness.database.pool.query(
      `SELECT 1 FROM clinical_facts.fact_links WHERE a_source = 'clinic-c' OR b_source = 'clinic-c'`,
    );
    expect(rows).toHaveLength(0);
    // Each decision keeps its rule and reason.
    const rules = await harness.database.pool.query<{ kind: string; rule_id: string; rule_reason: string }>(
      `SELECT DISTINCT kind, rule_id, rule_reason FROM clinical_facts.fact_links`,
    );
    expect(rules.rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rules.rows) expect(row.rule_reason.length).toBeGreaterThan(10);
  });

  it('$everything?dedup=true has one entry per fact: the union minus one per same-fact pair, naming every source', async () => {
    const goldens = [
      ...new Set([...sources.patients.keys()].map((id) => goldenOf.get(ours('hospital-a', 'Patient', id))!)),
    ];
    expect(goldens.length).toBeGreaterThan(1);
    const truthKeys = sources.truth.map((t) => [
      `${t.resourceType}/${ours('hospital-a', t.resourceType, t.hospitalId)}`,
      `${t.resourceType}/${ours('clinic-b', t.resourceType, t.clinicId)}`,
    ]);
    for (const golden of goldens.slice(0, 3)) {
      const union = await harness.http().get(`/fhir/Patient/${golden}/$everything?_count=1000`).expect(200);
      const keys = new Set<string>(
        (union.body as Bundle).entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`),
      );
      const pairsWithin = truthKeys.filter(([a, b]) => keys.has(a) && keys.has(b)).length;
      expect(pairsWithin).toBeGreaterThan(0);
      const dedup = await harness
        .http()
        .get(`/fhir/Patient/${golden}/$everything?dedup=true&_count=1000`)
        .expect(200);
      const bundle = dedup.body as Bundle;
      const matches = bundle.entry!.filter((e) => e.search?.mode === 'match');
      expect({ golden, total: bundle.total, matches: matches.length }).toEqual({
        golden,
        total: keys.size - pairsWithin,
        matches: keys.size - pairsWithin,
      });
      const merged = matches.filter(
        (e) =>
          ((e.resource as { extension?: Extension[] }).extension ?? []).filter(
            (x) => x.url === FACT_SOURCES_EXTENSION,
          ).length > 1,
      );
      expect(merged.length).toBe(pairsWithin);
      const provenances = bundle.entry!.filter(
        (e) => e.search?.mode === 'include' && e.resource?.resourceType === 'Provenance',
      );
      expect(provenances.length).toBe(pairsWithin);
      const first = merged[0].resource!;
      const names = (first as { extension?: Extension[] })
        .extension!.filter((x) => x.url === FACT_SOURCES_EXTENSION)
        .map((x) => x.valueReference!.display)
        .sort();
      expect(names).toEqual(['clinic-b', 'hospital-a']);
    }
  });

  it('$summary of every source and golden patient is a well-formed IPS document', async () => {
    const ids = [
      ...sources.hospitalPatients.map((id) => ours('hospital-a', 'Patient', id)),
      ...[...sources.patients.values()].map((id) => ours('clinic-b', 'Patient', id)),
      ...new Set([...goldenOf.values()]),
    ];
    let items = 0;
    for (const id of ids) {
      const response = await harness.http().get(`/fhir/Patient/${id}/$summary`).expect(200);
      items += expectWellFormedIps(response.body as Bundle, id);
    }
    expect(items).toBeGreaterThan(0);
  });

  it('a change between two ingests: _asOf before it gives the old summary, timeline and dedup answer', async () => {
    const hospitalPatient = sources.hospitalPatients.find((p) => sources.patients.has(p))!;
    const patientId = ours('hospital-a', 'Patient', hospitalPatient);
    const golden = goldenOf.get(patientId)!;
    const before = await harness.http().get(`/fhir/Patient/${golden}/$summary`).expect(200);
    const immunizations = ipsSectionReferences(before.body as Bundle, '11369-6');
    expect(immunizations.length).toBeGreaterThan(0);
    const target = immunizations[0];
    const entry = (before.body as Bundle).entry!.find(
      (e) => `${e.resource!.resourceType}/${e.resource!.id}` === target,
    )!;
    const changedAt = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Every source resource of the fact is now entered in error at its source.
    const members = ((entry.resource as { extension?: Extension[] }).extension ?? [])
      .filter((x) => x.url === FACT_SOURCES_EXTENSION)
      .map((x) => x.valueReference!.reference!);
    for (const reference of members) {
      const { source, original } = await originalOf(reference);
      const file = path.join(extraDir, `${source}.ndjson`);
      await fs.writeFile(file, JSON.stringify({ ...original, status: 'entered-in-error' }) + '\n');
      await harness.ingest(source, [file]);
    }
    const now = await harness.http().get(`/fhir/Patient/${golden}/$summary`).expect(200);
    expect(ipsSectionReferences(now.body as Bundle, '11369-6')).not.toContain(target);
    const then = await harness
      .http()
      .get(`/fhir/Patient/${golden}/$summary?_asOf=${changedAt.toISOString()}`)
      .expect(200);
    expect(members.length).toBeGreaterThan(0);
    expect(ipsSectionReferences(then.body as Bundle, '11369-6')).toContain(target);
    const oldRecord = await harness
      .http()
      .get(`/fhir/Patient/${golden}/$everything?dedup=true&_count=1000&_asOf=${changedAt.toISOString()}`)
      .expect(200);
    expect(
      (oldRecord.body as Bundle).entry!.some(
        (e) => `${e.resource!.resourceType}/${e.resource!.id}` === target,
      ),
    ).toBe(true);
    expectWellFormedIps(then.body as Bundle, golden);
  });

  it('a later version that no longer matches unlinks with the rule; a reviewer splits a link and it stays split', async () => {
    const observation = sources.truth.find((t) => t.resourceType === 'Observation')!;
    const clinicKey = `Observation/${ours('clinic-b', 'Observation', observation.clinicId)}`;
    const hospitalKey = `Observation/${ours('hospital-a', 'Observation', observation.hospitalId)}`;
    const linked = (await currentLinks()).find((l) => [l.aKey, l.bKey].includes(clinicKey));
    expect(linked).toBeDefined();
    const { original } = await originalOf(clinicKey);
    const moved = { ...original, effectiveDateTime: '1999-01-01T00:00:00Z' };
    const file = path.join(extraDir, 'moved.ndjson');
    await fs.writeFile(file, JSON.stringify(moved) + '\n');
    await harness.ingest('clinic-b', [file]);
    const { rows } = await harness.database.pool.query<{ unlink_reason: string; rule_id: string }>(
      `SELECT unlink_reason, rule_id FROM clinical_facts.fact_links WHERE (a_key = $1 OR b_key = $1) AND recorded_to IS NOT NULL`,
      [clinicKey],
    );
    expect(rows[0]).toMatchObject({
      unlink_reason: 'resource-changed',
      rule_id: 'observation-code-effective-5m-value',
    });
    expect((await currentLinks()).find((l) => [l.aKey, l.bKey].includes(hospitalKey))).toBeUndefined();

    const other = (await currentLinks())[0];
    const split = (reviewer: string | undefined) => {
      const call = harness
        .http()
        .post('/fhir/$clinical-fact-split')
        .set('content-type', 'application/fhir+json');
      if (reviewer) call.set('x-reviewer', reviewer);
      return call.send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', valueString: other.aKey },
          { name: 'resource', valueString: other.bKey },
          { name: 'note', valueString: 'different visits' },
        ],
      });
    };
    // The reviewer is the access token's client: an X-Reviewer header is neither needed nor believed.
    await split('reviewer-1').expect(200);
    await split(undefined).expect(404);
    await harness.runtime.runner.waitForCatchUp();
    expect((await currentLinks()).some((l) => l.aKey === other.aKey && l.bKey === other.bKey)).toBe(false);
    // The matcher folded the split into its own state: the pair is no longer among its current links.
    const matcherLinks = await harness.database.pool.query(
      `SELECT 1 FROM clinical_matching.links WHERE a_key = $1 AND b_key = $2`,
      [other.aKey, other.bKey],
    );
    expect(matcherLinks.rows).toHaveLength(0);
    // A new version of one side does not bring the split link back.
    const side = await originalOf(other.aKey);
    const source = side.source;
    const again = path.join(extraDir, 'again.ndjson');
    await fs.writeFile(again, JSON.stringify({ ...side.original, language: 'en' }) + '\n');
    await harness.ingest(source, [again]);
    expect((await currentLinks()).some((l) => l.aKey === other.aKey && l.bKey === other.bKey)).toBe(false);
  });

  it('timeline: de-duplicated facts in time order within from/to, with their sources; as of an instant', async () => {
    const golden = goldenOf.get(ours('hospital-a', 'Patient', [...sources.patients.keys()][0]))!;
    const all = await harness.http().get(`/clinical/patients/${golden}/timeline`).expect(200);
    const items = all.body.items as { time: string; sources: unknown[]; kind: string }[];
    expect(items.length).toBeGreaterThan(10);
    expect(items.map((i) => i.time)).toEqual([...items.map((i) => i.time)].sort());
    expect(items.some((i) => i.sources.length > 1)).toBe(true);
    const middle = items[Math.floor(items.length / 2)].time.slice(0, 4);
    const year = await harness
      .http()
      .get(`/clinical/patients/${golden}/timeline?from=${middle}&to=${middle}`)
      .expect(200);
    expect(year.body.items.length).toBeGreaterThan(0);
    for (const item of year.body.items as { time: string }[]) expect(item.time.slice(0, 4)).toBe(middle);
    const early = await harness
      .http()
      .get(`/clinical/patients/${golden}/timeline?_asOf=2000-01-01`)
      .expect(404);
    expect(early.body.resourceType).toBe('OperationOutcome');
  });

  it('follows Patient Identity: a reviewer separating the patients unlinks their facts, a merge links them again', async () => {
    const [hospitalId, clinicId] = [...sources.patients].at(-1)!;
    const clinicPatient = ours('clinic-b', 'Patient', clinicId);
    const golden = goldenOf.get(ours('hospital-a', 'Patient', hospitalId))!;
    const linksOfClinicPatient = async () =>
      (
        await harness.database.pool.query<{ link_id: string; unlink_reason: string | null }>(
          `SELECT f.link_id, f.unlink_reason FROM clinical_facts.fact_links f
            WHERE f.recorded_to IS NULL AND f.golden_id IS NOT NULL
              AND (f.a_source = 'clinic-b' OR f.b_source = 'clinic-b')
              AND EXISTS (SELECT 1 FROM clinical_matching.facts m
                           WHERE m.patient_id = $1 AND m.key IN (f.a_key, f.b_key))`,
          [clinicPatient],
        )
      ).rows;
    const before = (await linksOfClinicPatient()).length;
    expect(before).toBeGreaterThan(0);
    const mdm = (operation: string, parameter: { name: string; valueString: string }[]) =>
      harness
        .http()
        .post(`/fhir/$${operation}`)
        .set('content-type', 'application/fhir+json')
        .set('x-reviewer', 'reviewer-2')
        .send({ resourceType: 'Parameters', parameter });
    await mdm('mdm-update-link', [
      { name: 'goldenResourceId', valueString: `Patient/${golden}` },
      { name: 'resourceId', valueString: `Patient/${clinicPatient}` },
      { name: 'matchResult', valueString: 'NO_MATCH' },
    ]).expect(200);
    await harness.runtime.runner.waitForCatchUp();
    expect(await linksOfClinicPatient()).toHaveLength(0);
    const { rows } = await harness.database.pool.query<{ golden_id: string }>(
      `SELECT golden_id FROM patient_identity.links WHERE source_patient_id = $1 AND recorded_to IS NULL`,
      [clinicPatient],
    );
    const separated = await harness.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM clinical_facts.fact_links WHERE unlink_reason = 'patients-separated'`,
    );
    expect(separated.rows[0].n).toBeGreaterThanOrEqual(before);
    await mdm('mdm-merge-golden-resources', [
      { name: 'fromGoldenResourceId', valueString: `Patient/${rows[0].golden_id}` },
      { name: 'toGoldenResourceId', valueString: `Patient/${golden}` },
    ]).expect(200);
    await harness.runtime.runner.waitForCatchUp();
    expect((await linksOfClinicPatient()).length).toBe(before);
  });

  it('rebuilds the clinical-facts read model from the log to the same periods (cli replay clinical-facts)', async () => {
    const all = () =>
      harness.database.pool
        .query(
          `SELECT link_id, a_key, b_key, rule_id, recorded_from, recorded_to, unlink_reason
             FROM clinical_facts.fact_links ORDER BY link_id, recorded_from`,
        )
        .then((r) => r.rows);
    const before = await all();
    expect(before.some((r) => r.recorded_to !== null)).toBe(true);
    const status = await harness.runtime.runner.rebuild('clinical-facts');
    expect(status.rebuild).toMatchObject({ state: 'swapped' });
    expect(await all()).toEqual(before);
  });

  it('bad parameters are 400 OperationOutcomes naming them; an unknown patient is 404', async () => {
    const golden = [...goldenOf.values()][0];
    const bad: [string, string][] = [
      [`/fhir/Patient/${golden}/$summary?_asOf=yesterday`, '_asOf'],
      [`/fhir/Patient/${golden}/$everything?dedup=maybe`, 'dedup'],
      [`/clinical/patients/${golden}/timeline?from=2020-13`, 'from'],
      [`/clinical/patients/${golden}/timeline?from=2021&to=2020`, 'from'],
      [`/clinical/patients/${golden}/timeline?sort=x`, 'sort'],
      [`/clinical/patients/bad!id/timeline`, 'id'],
    ];
    for (const [url, parameter] of bad) {
      const response = await harness.http().get(url);
      expect({ url, status: response.status, type: response.body.resourceType }).toEqual({
        url,
        status: 400,
        type: 'OperationOutcome',
      });
      expect(JSON.stringify(response.body)).toContain(parameter);
    }
    for (const url of [
      '/fhir/Patient/no-such-patient/$summary',
      '/fhir/Patient/no-such-patient/$everything?dedup=true',
      '/clinical/patients/no-such-patient/timeline',
    ]) {
      const response = await harness.http().get(url);
      expect({ url, status: response.status, type: response.body.resourceType }).toEqual({
        url,
        status: 404,
        type: 'OperationOutcome',
      });
    }
    const metadata = await harness.http().get('/fhir/metadata').expect(200);
    expect(JSON.stringify(metadata.body)).toContain('Patient-summary');
  });
});

/** Asserts the IPS shape; returns the number of section items. */
function expectWellFormedIps(bundle: Bundle, patientId: string): number {
  expect({ patientId, problems: ipsDocumentProblems(bundle, patientId, FACT_SOURCES_EXTENSION) }).toEqual({
    patientId,
    problems: [],
  });
  const composition = bundle.entry![0].resource as Composition;
  for (const section of composition.section!)
    expect(IPS_SECTIONS.map((s) => s.code)).toContain(section.code!.coding![0].code);
  return composition.section!.reduce((n, s) => n + (s.entry?.length ?? 0), 0);
}
