import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Bundle, Parameters, ParametersParameter, Patient } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import { readIdentityConfig } from '@fa/platform';
import {
  defaultComparators,
  FellegiSunterIdentityMatcher,
  fitParameters,
  identityMatcherFromConfig,
  matchFeaturesOf,
} from '@fa/patient-identity';
import { AggregatorHarness, runCli, startAggregator } from './support/aggregator-harness';
import { eventually } from '@fa/testkit';
import { SyntheticRecord, syntheticPeople } from './support/synthetic-people';

const SOURCES = ['hospital-a', 'clinic-b'];
const ourId = (source: string, id: string) => uuidv5(`${source}|Patient|${id}`, AGGREGATOR_NAMESPACE);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Link {
  golden: string;
  source: string;
  matchResult: string;
  linkSource: string;
  decidedBy: string;
  comparisons: number;
}

function part(parameter: ParametersParameter, name: string): ParametersParameter | undefined {
  return parameter.part?.find((p) => p.name === name);
}

describe('Patient Identity: online matching into golden patients, MDM operations, as of any instant', () => {
  let harness: AggregatorHarness;
  let dir: string;
  let records: SyntheticRecord[];
  const truthOf = new Map<string, string>();

  const links = async (query = ''): Promise<Link[]> => {
    const response = await harness.http().get(`/fhir/$mdm-query-links?_count=1000${query}`).expect(200);
    const parameters = (response.body as Parameters).parameter ?? [];
    // Paging links (self, prev, next) come first, as HAPI FHIR's MDM sends them.
    expect(parameters[0]?.name).toBe('self');
    return parameters
      .filter((p) => p.name === 'link')
      .map((p) => ({
        golden: part(p, 'goldenResourceId')!.valueString!.replace('Patient/', ''),
        source: part(p, 'sourceResourceId')!.valueString!.replace('Patient/', ''),
        matchResult: part(p, 'matchResult')!.valueString!,
        linkSource: part(p, 'linkSource')!.valueString!,
        decidedBy: part(p, 'decidedBy')!.valueString!,
        comparisons: (p.part ?? []).filter((x) => x.name === 'comparison').length,
      }));
  };
  const ingest = async (name: string, source: string, patients: Patient[]) => {
    const file = path.join(dir, name);
    await fs.writeFile(file, patients.map((p) => JSON.stringify(p)).join('\n') + '\n');
    await harness.ingest(source, [file]);
  };

  beforeAll(async () => {
    records = syntheticPeople({ people: 60, sources: SOURCES, seed: 7 });
    // m/u estimated from these records by EM (no truth used), as a deployment fits its own model.
    const fitted = fitParameters(
      records.map((r) => matchFeaturesOf(r.patient)),
      defaultComparators(),
      { seed: 1 },
    );
    harness = await startAggregator({ identityMatcher: new FellegiSunterIdentityMatcher(fitted.parameters) });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-identity-'));
    for (const record of records) truthOf.set(ourId(record.source, record.patient.id!), record.truth);
    for (const source of SOURCES) {
      await ingest(
        `${source}.ndjson`,
        source,
        records.filter((r) => r.source === source).map((r) => r.patient),
      );
    }
  });
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('links every source patient to exactly one golden patient, the same one for the same person', async () => {
    const all = await links();
    expect(all).toHaveLength(records.length);
    expect(new Set(all.map((l) => l.source)).size).toBe(records.length);
    const goldenOfTruth = new Map<string, Set<string>>();
    const truthOfGolden = new Map<string, Set<string>>();
    for (const link of all) {
      const truth = truthOf.get(link.source)!;
      goldenOfTruth.set(truth, (goldenOfTruth.get(truth) ?? new Set()).add(link.golden));
      truthOfGolden.set(link.golden, (truthOfGolden.get(link.golden) ?? new Set()).add(truth));
    }
    // No golden patient mixes two people (precision), and every person is one golden patient (recall).
    expect([...truthOfGolden.values()].filter((people) => people.size > 1)).toEqual([]);
    expect([...goldenOfTruth.entries()].filter(([, goldens]) => goldens.size > 1).map(([t]) => t)).toEqual(
      [],
    );
    // Automatic links explain themselves field by field.
    const automatic = all.filter((l) => l.decidedBy.startsWith('matcher:') && l.comparisons > 0);
    expect(automatic.length).toBeGreaterThan(0);
  });

  it('serves the golden Patient by survivorship with links to its members and the source of each field', async () => {
    const [link] = await links(`&resourceId=Patient/${ourId('clinic-b', 'clinic-b-p3')}`);
    const response = await harness.http().get(`/fhir/Patient/${link.golden}`).expect(200);
    const golden = response.body as Patient;
    expect(golden.meta?.tag).toContainEqual(expect.objectContaining({ code: 'GOLDEN_RECORD' }));
    expect(golden.link!.map((l) => l.other.reference).sort()).toEqual(
      [
        `Patient/${ourId('hospital-a', 'hospital-a-p3')}`,
        `Patient/${ourId('clinic-b', 'clinic-b-p3')}`,
      ].sort(),
    );
    const fieldSources = (golden.extension ?? []).map(
      (e) => e.extension!.find((x) => x.url === 'field')!.valueString,
    );
    expect(fieldSources).toEqual(expect.arrayContaining(['name', 'birthDate', 'identifier']));
    const everything = await harness.http().get(`/fhir/Patient/${link.golden}/$everything`).expect(200);
    const ids = (everything.body as Bundle).entry!.map((e) => e.resource!.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        link.golden,
        ourId('hospital-a', 'hospital-a-p3'),
        ourId('clinic-b', 'clinic-b-p3'),
      ]),
    );
  });

  it("keeps a reviewer's NO_MATCH for good, moves every link on merge, and answers links as of before the merge", async () => {
    const a = ourId('hospital-a', 'hospital-a-p5');
    const b = ourId('clinic-b', 'clinic-b-p5');
    const [linkA] = await links(`&resourceId=Patient/${a}`);
    const [linkB] = await links(`&resourceId=Patient/${b}`);
    expect(linkA.golden).toBe(linkB.golden);
    const golden = linkA.golden;

    await harness
      .http()
      .post('/fhir/$mdm-update-link')
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'goldenResourceId', valueString: `Patient/${golden}` },
          { name: 'resourceId', valueString: `Patient/${b}` },
          { name: 'matchResult', valueString: 'NO_MATCH' },
        ],
      })
      .expect(200);
    await harness.runtime.runner.waitForCatchUp();
    const [separated] = await links(`&resourceId=Patient/${b}`);
    expect(separated.golden).not.toBe(golden);
    expect(separated.linkSource).toBe('MANUAL');

    // A new version of the separated patient arrives: the matcher does not put it back.
    const record = records.find((r) => r.source === 'clinic-b' && r.patient.id === 'clinic-b-p5')!;
    await ingest('p5-v2.ndjson', 'clinic-b', [
      {
        ...record.patient,
        meta: { lastUpdated: '2024-06-01T00:00:00Z' },
        telecom: [{ system: 'phone', value: '555-0000' }],
      },
    ]);
    expect((await links(`&resourceId=Patient/${b}`))[0].golden).toBe(separated.golden);

    await sleep(20);
    const beforeMerge = new Date().toISOString();
    await sleep(20);
    const merge = await harness
      .http()
      .post('/fhir/$mdm-merge-golden-resources')
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'fromGoldenResourceId', valueString: `Patient/${separated.golden}` },
          { name: 'toGoldenResourceId', valueString: `Patient/${golden}` },
        ],
      })
      .expect(200);
    expect((merge.body as Parameters).parameter).toContainEqual({
      name: 'moved',
      valueString: `Patient/${b}`,
    });
    await harness.runtime.runner.waitForCatchUp();
    expect((await links(`&goldenResourceId=Patient/${golden}`)).map((l) => l.source).sort()).toEqual(
      [a, b].sort(),
    );
    // As of before the merge the two golden patients stand apart; the merged one now reads 410.
    const before = await links(`&_asOf=${beforeMerge}&resourceId=Patient/${b}`);
    expect(before[0].golden).toBe(separated.golden);
    await harness.http().get(`/fhir/Patient/${separated.golden}?_asOf=${beforeMerge}`).expect(200);
    await harness.http().get(`/fhir/Patient/${separated.golden}`).expect(410);

    const history = await harness.http().get(`/fhir/$mdm-link-history?resourceId=Patient/${b}`).expect(200);
    const decisions = ((history.body as Parameters).parameter ?? []).map((p) => [
      part(p, 'type')!.valueString,
      part(p, 'decidedBy')?.valueString,
    ]);
    expect(decisions).toEqual(
      expect.arrayContaining([
        ['PatientLinked', expect.stringMatching(/^matcher:/)],
        ['PatientUnlinked', 'reviewer:test-client'],
        ['LinkReviewResolved', 'reviewer:test-client'],
        ['GoldenPatientsMerged', 'reviewer:test-client'],
      ]),
    );
  });

  it('a record matching two golden patients on numbers alone never bridges them: it links to one and asks a person about the other', async () => {
    const byName: Patient = {
      resourceType: 'Patient',
      id: 'bridge-a',
      name: [{ family: 'Zyxwertova', given: ['Quintessa'] }],
      gender: 'female',
      birthDate: '1961-07-13',
      address: [{ line: ['9 Quarry Lane'], city: 'Lakeside', postalCode: '40404' }],
    };
    const byNumbers: Patient = {
      resourceType: 'Patient',
      id: 'bridge-b',
      gender: 'female',
      identifier: [{ system: 'http://example.org/national-id', value: 'MRN777000111' }],
      telecom: [{ system: 'phone', value: '555-7171' }],
    };
    await ingest('bridge-a.ndjson', 'hospital-a', [byName]);
    await ingest('bridge-b.ndjson', 'clinic-b', [byNumbers]);
    const [a] = await links(`&resourceId=Patient/${ourId('hospital-a', 'bridge-a')}`);
    const [b] = await links(`&resourceId=Patient/${ourId('clinic-b', 'bridge-b')}`);
    expect(a.golden).not.toBe(b.golden);

    await ingest('bridge-c.ndjson', 'lab-c', [
      { ...byName, ...byNumbers, id: 'bridge-c', name: byName.name, birthDate: byName.birthDate },
    ]);
    const after = await Promise.all(
      [ourId('hospital-a', 'bridge-a'), ourId('clinic-b', 'bridge-b'), ourId('lab-c', 'bridge-c')].map(
        async (id) => (await links(`&resourceId=Patient/${id}`))[0].golden,
      ),
    );
    // b has neither given name nor birth date: c matched it without the discriminating fields.
    expect(new Set(after).size).toBe(2);
    expect(after[2]).toBe(a.golden);
    for (const golden of [a.golden, b.golden]) {
      await harness.http().get(`/fhir/Patient/${golden}`).expect(200);
    }
    const reviews = await harness.http().get('/admin/identity/reviews?limit=1000').expect(200);
    const review = (
      reviews.body as {
        reviews: {
          goldenId: string;
          sourcePatientId: string;
          explanation: { comparisons: { level: string }[] };
        }[];
      }
    ).reviews.find((r) => r.sourcePatientId === ourId('lab-c', 'bridge-c'));
    expect(review?.goldenId).toBe(b.golden);
    const history = await harness
      .http()
      .get(`/fhir/$mdm-link-history?goldenResourceId=Patient/${b.golden}`)
      .expect(200);
    expect(
      ((history.body as Parameters).parameter ?? []).map((p) => part(p, 'type')!.valueString),
    ).not.toContain('GoldenPatientsMerged');
  });

  it('fits a deployment model from the stored patients (cli identity-fit) that IDENTITY_MODEL loads', async () => {
    const out = path.join(dir, 'model.json');
    const result = await runCli(['identity-fit', '--out', out], harness.database.url);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/fitted on 123 patients/);
    expect(result.stdout).toMatch(/model fellegi-sunter\/2@sha256:[0-9a-f]{16}/);
    expect(result.stdout).toMatch(/^given_name +different +\S+ +\S+ +-\d+\.\d\d$/m);
    const matcher = identityMatcherFromConfig(readIdentityConfig({ IDENTITY_MODEL: out }));
    const [a, b] = records.filter((r) => r.truth === 'person-0').map((r) => matcher.featuresOf(r.patient));
    const other = matcher.featuresOf(records.find((r) => r.truth === 'person-1')!.patient);
    expect(matcher.compare(a, b).weight).toBeGreaterThan(matcher.compare(a, other).weight);
  });

  it('answers two concurrent merges of one golden patient with one success and one 409 conflict', async () => {
    const people: Patient[] = ['Oakenshield', 'Pemberton', 'Quarrington'].map((family, i) => ({
      resourceType: 'Patient',
      id: `concurrent-${i}`,
      name: [{ family, given: [['Ysolde', 'Barnaby', 'Cressida'][i]] }],
      gender: i === 1 ? 'male' : 'female',
      birthDate: `19${50 + i * 11}-0${i + 2}-1${i}`,
    }));
    await ingest('concurrent.ndjson', 'hospital-a', people);
    const [from, a, b] = await Promise.all(
      people.map(async (p) => (await links(`&resourceId=Patient/${ourId('hospital-a', p.id!)}`))[0].golden),
    );
    expect(new Set([from, a, b]).size).toBe(3);
    const merge = (into: string) =>
      harness
        .http()
        .post('/fhir/$mdm-merge-golden-resources')
        .send({
          resourceType: 'Parameters',
          parameter: [
            { name: 'fromGoldenResourceId', valueString: `Patient/${from}` },
            { name: 'toGoldenResourceId', valueString: `Patient/${into}` },
          ],
        })
        .then((response) => response);
    // Hold the from-stream's append lock so both reviewers have read it before either can append.
    const lock = await harness.database.pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`PatientIdentity-${from}`]);
      const responses = Promise.all([merge(a), merge(b)]);
      const waiting = await eventually(
        async () =>
          (
            await harness.database.pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks
                WHERE locktype = 'advisory' AND NOT granted
                  AND (classid::bigint << 32 | objid::bigint) = hashtextextended($1, 0)`,
              [`PatientIdentity-${from}`],
            )
          ).rows[0].n,
        (n) => n >= 2,
        20_000,
      );
      expect(waiting).toBe(2);
      await lock.query('COMMIT');
      const [first, second] = await responses;
      expect([first.status, second.status].sort()).toEqual([200, 409]);
      const conflict = first.status === 409 ? first : second;
      expect(conflict.body.resourceType).toBe('OperationOutcome');
      expect(conflict.body.issue[0].code).toBe('conflict');
      expect(conflict.body.issue[0].diagnostics).toMatch(/changed while this decision was made.*retry/);
      const winner = first.status === 200 ? a : b;
      await harness.runtime.runner.waitForCatchUp();
      expect((await links(`&goldenResourceId=Patient/${winner}`)).map((l) => l.source).sort()).toEqual(
        [ourId('hospital-a', people[0].id!), ourId('hospital-a', people[winner === a ? 1 : 2].id!)].sort(),
      );
      expect(await links(`&goldenResourceId=Patient/${from}`)).toEqual([]);
      expect(await links(`&goldenResourceId=Patient/${winner === a ? b : a}`)).toHaveLength(1);
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
    }
  });

  it("moves a source patient to another golden patient on a reviewer's MATCH, for good", async () => {
    const x = ourId('hospital-a', 'hospital-a-p7');
    const y = ourId('hospital-a', 'hospital-a-p8');
    const [linkX] = await links(`&resourceId=Patient/${x}`);
    const [linkY] = await links(`&resourceId=Patient/${y}`);
    expect(linkX.golden).not.toBe(linkY.golden);
    const response = await harness
      .http()
      .post('/fhir/$mdm-update-link')
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'goldenResourceId', valueString: `Patient/${linkY.golden}` },
          { name: 'resourceId', valueString: `Patient/${x}` },
          { name: 'matchResult', valueString: 'MATCH' },
        ],
      })
      .expect(200);
    expect((response.body as Parameters).parameter).toContainEqual({
      name: 'goldenResourceId',
      valueString: `Patient/${linkY.golden}`,
    });
    await harness.runtime.runner.waitForCatchUp();
    const [moved] = await links(`&resourceId=Patient/${x}`);
    expect([moved.golden, moved.linkSource, moved.decidedBy]).toEqual([
      linkY.golden,
      'MANUAL',
      'reviewer:test-client',
    ]);
    expect((await links(`&goldenResourceId=Patient/${linkX.golden}`)).map((l) => l.source)).not.toContain(x);
    // A new version of x that still resembles its old golden patient does not move it back.
    const record = records.find((r) => r.source === 'hospital-a' && r.patient.id === 'hospital-a-p7')!;
    await ingest('p7-v2.ndjson', 'hospital-a', [
      {
        ...record.patient,
        meta: { lastUpdated: '2024-07-01T00:00:00Z' },
        telecom: [{ system: 'phone', value: '555-0707' }],
      },
    ]);
    expect((await links(`&resourceId=Patient/${x}`))[0].golden).toBe(linkY.golden);
  });

  it('rejects bad MDM requests with precise OperationOutcomes', async () => {
    const cases: [() => ReturnType<ReturnType<AggregatorHarness['http']>['get']>, number, RegExp][] = [
      [() => harness.http().get('/fhir/$mdm-query-links?matchResult=MAYBE'), 400, /matchResult/],
      [() => harness.http().get('/fhir/$mdm-link-history'), 400, /goldenResourceId/],
      [
        () =>
          harness.http().post('/fhir/$mdm-update-link').send({ resourceType: 'Parameters', parameter: [] }),
        400,
        /goldenResourceId/,
      ],
      [
        () =>
          harness
            .http()
            .post('/fhir/$mdm-update-link')
            .send({
              resourceType: 'Parameters',
              parameter: [
                { name: 'goldenResourceId', valueString: 'Patient/nope' },
                { name: 'resourceId', valueString: 'Patient/nope' },
                { name: 'matchResult', valueString: 'MATCH' },
              ],
            }),
        404,
        /not a golden patient/,
      ],
    ];
    for (const [send, status, message] of cases) {
      const response = await send();
      expect(response.status).toBe(status);
      expect(response.body.issue[0].diagnostics).toMatch(message);
    }
  });
});
