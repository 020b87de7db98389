import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Bundle, CapabilityStatement, Parameters, ParametersParameter, Patient } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import { AGGREGATOR_NAMESPACE, FileIngestionService } from '@fa/ingestion';
import {
  defaultComparators,
  FellegiSunterIdentityMatcher,
  fitParameters,
  GOLDEN_RECORD_TAG,
  matchFeaturesOf,
} from '@fa/patient-identity';
import { syntheticHouseholds } from '@fa/testkit';
import { AggregatorHarness, startAggregator } from './support/aggregator-harness';

const [A, B] = ['registry-a', 'registry-b'] as const;
const ourId = (source: string, id: string) => uuidv5(`${source}|Patient|${id}`, AGGREGATOR_NAMESPACE);
const GOLDEN = `${GOLDEN_RECORD_TAG.system}|${GOLDEN_RECORD_TAG.code}`;
const part = (p: ParametersParameter, name: string) => p.part?.find((x) => x.name === name);

/** One household as both registries record it: twins born the same day, their parents (spouses). */
function householdFixture(): { source: string; patient: Patient; person: string }[] {
  const home = { line: ['14 Wattle Grove'], city: 'Kingsford', postalCode: '2032' };
  const phone = [{ system: 'phone' as const, value: '02 9662 4410' }];
  const people = [
    { person: 'twin-1', given: 'Oscar', gender: 'male' as const, birthDate: '2012-03-09' },
    { person: 'twin-2', given: 'Matilda', gender: 'female' as const, birthDate: '2012-03-09' },
    { person: 'father', given: 'Hamish', gender: 'male' as const, birthDate: '1979-11-23' },
    { person: 'mother', given: 'Priya', gender: 'female' as const, birthDate: '1981-06-02' },
  ];
  return [A, B].flatMap((source) =>
    people.map(({ person, given, gender, birthDate }) => ({
      source,
      person,
      patient: {
        resourceType: 'Patient',
        id: `fixture-${person}`,
        name: [{ family: 'Tregonning', given: [given] }],
        gender,
        birthDate,
        address: [home],
        telecom: phone,
      } satisfies Patient,
    })),
  );
}

/**
 * Patient Identity at size: 10,000 source patients in households (two registries, link-only), a hand-written
 * household (twins, spouses) among them, matched by a model fitted on the records themselves, as a deployment's
 * `identity-fit` fits it. One service for the suite; the records go in through the file source in bulk.
 */
describe('Patient Identity at 10,000 patients: households, paging links, golden patients in search and history', () => {
  let harness: AggregatorHarness;
  let dir: string;
  const fixture = householdFixture();
  let sourcePatients = 0;

  beforeAll(async () => {
    const people = syntheticHouseholds({ households: 1900, seed: 18, sources: [A, B] });
    const records = [
      ...people.patients.map((patient) => ({ source: people.sourceOf.get(patient.id!)!, patient })),
      ...fixture,
    ];
    sourcePatients = records.length;
    const fitted = fitParameters(
      records.map((r) => matchFeaturesOf(r.patient)),
      defaultComparators(),
      { seed: 1 },
    );
    harness = await startAggregator({ identityMatcher: new FellegiSunterIdentityMatcher(fitted.parameters) });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-identity-reach-'));
    const files = harness.app.get(FileIngestionService);
    for (const source of [A, B]) {
      const file = path.join(dir, `${source}.ndjson`);
      const lines = records.filter((r) => r.source === source).map((r) => JSON.stringify(r.patient));
      await fs.writeFile(file, lines.join('\n') + '\n');
      await files.ingest(source, [file], { ingestionInstance: 'test' });
    }
    await harness.runtime.runner.waitForCatchUp(300_000);
  }, 360_000);
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const linkOf = async (source: string, id: string) => {
    const response = await harness
      .http()
      .get(`/fhir/$mdm-query-links?resourceId=Patient/${ourId(source, id)}`)
      .expect(200);
    const link = (response.body as Parameters).parameter!.find((p) => p.name === 'link')!;
    return {
      golden: part(link, 'goldenResourceId')!.valueString!.replace('Patient/', ''),
      matchResult: part(link, 'matchResult')!.valueString!,
      link,
    };
  };

  it('never merges a household automatically: twins with one birth date, spouses with one surname and home', async () => {
    const placed = await Promise.all(
      fixture.map(async (r) => ({ ...r, ...(await linkOf(r.source, r.patient.id!)) })),
    );
    // A golden patient holding records by automatic links holds one person's records only.
    const personsOf = new Map<string, Set<string>>();
    for (const r of placed.filter((p) => p.matchResult === 'MATCH')) {
      personsOf.set(r.golden, new Set([...(personsOf.get(r.golden) ?? []), r.person]));
    }
    for (const persons of personsOf.values()) expect(persons.size).toBe(1);
    // And each person's two records are one golden patient.
    for (const person of ['twin-1', 'twin-2', 'father', 'mother']) {
      const goldens = new Set(placed.filter((p) => p.person === person).map((p) => p.golden));
      expect(goldens.size).toBe(1);
    }
  });

  it('explains a link: the blocking keys that made the candidate and the model version that decided', async () => {
    const { link } = await linkOf(B, 'fixture-twin-1');
    expect(part(link, 'modelVersion')?.valueString).toMatch(/^fellegi-sunter\/2@sha256:[0-9a-f]{16}$/);
    const keys = (link.part ?? []).filter((p) => p.name === 'blockingKey').map((p) => p.valueString);
    expect(keys).toContain('birth-date:20120309');
    expect(part(link, 'comparedWith')?.valueString).toBe(`Patient/${ourId(A, 'fixture-twin-1')}`);
  });

  it('enumerates every link of the store by paging $mdm-query-links (_offset/_count, next link)', async () => {
    const seen = new Set<string>();
    let url: string | undefined = '/fhir/$mdm-query-links?_count=1000';
    let pages = 0;
    while (url) {
      const response: { body: unknown } = await harness.http().get(url).expect(200);
      const parameters: ParametersParameter[] = (response.body as Parameters).parameter ?? [];
      for (const link of parameters.filter((p) => p.name === 'link')) {
        const source = part(link, 'sourceResourceId')!.valueString!;
        expect(seen.has(source)).toBe(false);
        seen.add(source);
      }
      const next: string | undefined = parameters.find((p) => p.name === 'next')?.valueUri;
      if (next) expect(next).toMatch(/_asOf=.*_offset=\d+|_offset=\d+.*_asOf=/);
      url = next ? new URL(next).pathname + new URL(next).search : undefined;
      pages++;
    }
    expect(sourcePatients).toBeGreaterThanOrEqual(10_000);
    expect(seen.size).toBe(sourcePatients);
    expect(pages).toBe(Math.ceil(sourcePatients / 1000));
  });

  it('finds golden patients by Patient? search (_tag GOLDEN_RECORD), pages them, and lists the tag in metadata', async () => {
    const { golden } = await linkOf(A, 'fixture-twin-2');
    const byId = await harness
      .http()
      .get(`/fhir/Patient?_tag=${encodeURIComponent(GOLDEN)}&_id=${golden}`)
      .expect(200);
    const found = (byId.body as Bundle).entry!.map((e) => e.resource as Patient);
    expect(found.map((p) => p.id)).toEqual([golden]);
    expect(found[0].meta?.tag).toContainEqual(expect.objectContaining({ code: 'GOLDEN_RECORD' }));
    expect(found[0].link?.map((l) => l.other.reference).sort()).toEqual(
      [ourId(A, 'fixture-twin-2'), ourId(B, 'fixture-twin-2')].map((id) => `Patient/${id}`).sort(),
    );

    const page = await harness
      .http()
      .get(`/fhir/Patient?_tag=${encodeURIComponent(GOLDEN)}&_count=5`)
      .expect(200);
    const bundle = page.body as Bundle;
    expect(bundle.entry).toHaveLength(5);
    expect(bundle.entry!.every((e) => (e.resource as Patient).meta?.tag?.[0]?.code === 'GOLDEN_RECORD')).toBe(
      true,
    );
    expect(bundle.link?.find((l) => l.relation === 'next')?.url).toMatch(/_offset=5/);

    // A source-patient search never returns golden patients.
    const sources = await harness.http().get('/fhir/Patient?family=Tregonning').expect(200);
    expect((sources.body as Bundle).entry).toHaveLength(fixture.length);

    // With Patient search parameters: the golden patients one of whose members matches them.
    const byMembers = await harness
      .http()
      .get(`/fhir/Patient?_tag=${encodeURIComponent(GOLDEN)}&family=Tregonning&birthdate=2012-03-09`)
      .expect(200);
    const twins = (byMembers.body as Bundle).entry!.map((e) => e.resource as Patient);
    expect(twins.map((p) => p.id).sort()).toEqual(
      [
        ...new Set(
          await Promise.all(
            ['fixture-twin-1', 'fixture-twin-2'].map(async (id) => (await linkOf(A, id)).golden),
          ),
        ),
      ].sort(),
    );
    for (const bad of ['_sort=family', 'bogus=1']) {
      const answer = await harness
        .http()
        .get(`/fhir/Patient?_tag=${encodeURIComponent(GOLDEN)}&${bad}`)
        .expect(400);
      expect(JSON.stringify(answer.body)).toContain(bad.split('=')[0]);
    }

    const metadata = (await harness.http().get('/fhir/metadata').expect(200)).body as CapabilityStatement;
    const patient = metadata.rest![0].resource!.find((r) => r.type === 'Patient')!;
    expect(patient.searchParam?.find((p) => p.name === '_tag')?.documentation).toContain('GOLDEN_RECORD');
  });

  it("lists a golden patient's versions in _history, one per membership change", async () => {
    const { golden } = await linkOf(A, 'fixture-father');
    const response = await harness.http().get(`/fhir/Patient/${golden}/_history`).expect(200);
    const bundle = response.body as Bundle;
    expect(bundle.type).toBe('history');
    const versions = bundle.entry!.map((e) => e.resource as Patient);
    // Created with its first member, then the other registry's record linked: two versions, newest first.
    expect(versions.map((v) => v.meta?.versionId)).toEqual(['2', '1']);
    expect(versions.map((v) => v.link?.length)).toEqual([2, 1]);
    const current = (await harness.http().get(`/fhir/Patient/${golden}`).expect(200)).body as Patient;
    expect(current.meta?.versionId).toBe('2');
    const first = (await harness.http().get(`/fhir/Patient/${golden}/_history/1`).expect(200))
      .body as Patient;
    expect(first).toEqual(versions[1]);
    await harness.http().get(`/fhir/Patient/${golden}/_history/3`).expect(404);
    await harness.http().get('/fhir/Patient/not-a-golden-patient/_history').expect(404);
  });
});
