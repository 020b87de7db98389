import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CapabilityStatement, OperationOutcome, Patient } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import { eventually } from '@fa/testkit';
import { AggregatorHarness, FIXTURES, startAggregator } from './support/aggregator-harness';
import { goldenOf as goldenPatientOf, writeNdjson } from './support/golden-links';
import { searchHttp } from './support/search-http';

/**
 * Chains, _has, composites with components of one element, golden-patient expansion (:mdm) as of an instant, the
 * link limit and the CapabilityStatement, on the two-patient fixture and a second source holding a copy of one
 * of its patients. The broad equality with an independent computation is search-synthea-79.e2e-spec.ts.
 */

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
const HOSPITAL = 'hospital-a';
const CLINIC = 'clinic-b';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const ourId = (source: string, type: string, id: string) =>
  uuidv5(`${source}|${type}|${id}`, AGGREGATOR_NAMESPACE);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Small on purpose: a _has over every Observation of the fixture exceeds it. */
const LINK_LIMIT = 50;

function observation(id: string, patient: string, extra: object) {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: '2024-05-01T10:00:00Z',
    ...extra,
  };
}

const bloodPressure = (id: string, patient: string, systolic: number, diastolic: number) =>
  observation(id, patient, {
    code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }] },
    component: [
      {
        code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] },
        valueQuantity: { value: systolic, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' },
      },
      {
        code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] },
        valueQuantity: { value: diastolic, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' },
      },
    ],
  });

describe('chained, reverse-chained and composite search, golden-patient expansion (service over HTTP)', () => {
  let harness: AggregatorHarness;
  let dir: string;
  let patient: Patient;
  let hospitalPatient: string;
  let clinicPatient: string;
  let golden: string;
  let beforeRelink: string;

  const { get, allMatches } = searchHttp(() => harness);
  /** Ids of the matches over every page, sorted. */
  const matches = async (url: string) => (await allMatches(url)).sort();
  const write = (name: string, resources: object[]) => writeNdjson(dir, name, resources);
  const goldenOf = (sourcePatient: string) => goldenPatientOf(harness, sourcePatient);

  beforeAll(async () => {
    harness = await startAggregator({ searchLinkLimit: LINK_LIMIT });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-linked-'));
    await harness.ingest(HOSPITAL, [SAMPLE]);
    const lines = (await fs.readFile(path.join(SAMPLE, 'Patient.ndjson'), 'utf8'))
      .split('\n')
      .filter(Boolean);
    patient = JSON.parse(lines[0]) as Patient;
    hospitalPatient = ourId(HOSPITAL, 'Patient', patient.id!);
    clinicPatient = ourId(CLINIC, 'Patient', 'c1');
    // The clinic first knows the person under another name and birth date: a golden patient of its own.
    const stranger: Patient = {
      resourceType: 'Patient',
      id: 'c1',
      name: [{ family: 'Unrelated', given: ['Someone'] }],
      gender: 'female',
      birthDate: '1901-01-01',
    };
    await harness.ingest(CLINIC, [
      await write('clinic-v1.ndjson', [
        stranger,
        bloodPressure('bp1', 'c1', 120, 80),
        bloodPressure('bp2', 'c1', 95, 60),
        observation('note', 'c1', {
          code: { coding: [{ system: LOINC, code: '8251-1', display: 'Service comment' }] },
          valueString: 'Fasting since midnight',
        }),
        observation('onset', 'c1', {
          code: { coding: [{ system: LOINC, code: '11368-8', display: 'Illness onset date' }] },
          valueDateTime: '2024-04-20',
        }),
      ]),
    ]);
    golden = (await eventually(
      () => goldenOf(hospitalPatient),
      (g) => g !== undefined,
    ))!;
    await sleep(20);
    beforeRelink = new Date().toISOString();
    await sleep(20);
    // Then it sends the same person's record as the hospital holds it: linked to the hospital's golden patient.
    const copy = { ...JSON.parse(lines[0]), id: 'c1' } as Patient;
    await harness.ingest(CLINIC, [await write('clinic-v2.ndjson', [copy])]);
    await eventually(
      () => goldenOf(clinicPatient),
      (g) => g === golden,
    );
  }, 180_000);
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('Observation?patient.identifier=<source system>|<source id> finds that patient’s Observations', async () => {
    const direct = await matches(`/fhir/Observation?subject=Patient/${hospitalPatient}&_count=100`);
    expect(direct.length).toBeGreaterThan(5);
    const chained = await matches(
      `/fhir/Observation?patient.identifier=urn:fhir-aggregator:source:${HOSPITAL}|${patient.id}&_count=100`,
    );
    expect(chained).toEqual(direct);
  });

  it('Observation?subject:mdm=Patient/<golden> finds every member’s Observations; _asOf uses the links of then', async () => {
    const hospital = await matches(`/fhir/Observation?subject=Patient/${hospitalPatient}&_count=100`);
    const clinic = await matches(`/fhir/Observation?subject=Patient/${clinicPatient}&_count=100`);
    expect(clinic).toHaveLength(4);
    expect(await matches(`/fhir/Observation?subject:mdm=Patient/${golden}&_count=100`)).toEqual(
      [...hospital, ...clinic].sort(),
    );
    // A member stands for its golden patient's other members too (as HAPI's MDM expansion does).
    expect(await matches(`/fhir/Observation?subject:mdm=${clinicPatient}&_count=100`)).toEqual(
      [...hospital, ...clinic].sort(),
    );
    // Before the clinic's second version the clinic patient had a golden patient of its own.
    expect(
      await matches(`/fhir/Observation?subject:mdm=Patient/${golden}&_count=100&_asOf=${beforeRelink}`),
    ).toEqual(hospital);
  });

  it('matches composite components on the same element, each with its own prefix', async () => {
    const bp1 = ourId(CLINIC, 'Observation', 'bp1');
    const bp2 = ourId(CLINIC, 'Observation', 'bp2');
    const systolicOver100 = `component-code-value-quantity=${LOINC}|8480-6$gt100`;
    expect(await matches(`/fhir/Observation?${systolicOver100}`)).toEqual([bp1]);
    expect(await matches(`/fhir/Observation?component-code-value-quantity=8480-6$ge90`)).toEqual(
      [bp1, bp2].sort(),
    );
    // 120 is a value of bp1, but of its systolic component: the diastolic one is 80.
    expect(await matches(`/fhir/Observation?component-code-value-quantity=8462-4$gt100`)).toEqual([]);
    expect(
      await matches(`/fhir/Observation?component-code-value-quantity=8462-4$lt70|${UCUM}|mm[Hg]`),
    ).toEqual([bp2]);
    expect(await matches(`/fhir/Observation?combo-code-value-quantity=85354-9$gt1,8462-4$eq80`)).toEqual([
      bp1,
    ]);
    expect(await matches('/fhir/Observation?code-value-string=8251-1$fasting')).toEqual([
      ourId(CLINIC, 'Observation', 'note'),
    ]);
    expect(
      await matches('/fhir/Observation?code-value-date=11368-8$ge2024-04&code-value-date=11368-8$lt2024-05'),
    ).toEqual([ourId(CLINIC, 'Observation', 'onset')]);
    expect(await matches('/fhir/Observation?code-value-date=11368-8$gt2024-04-20')).toEqual([]);
    expect(await matches('/fhir/Observation?component-code-value-quantity:missing=false')).toEqual(
      [bp1, bp2].sort(),
    );
  });

  it('answers :text on codes and on reference displays, and chains through _has', async () => {
    expect(await matches('/fhir/Observation?code:text=systolic')).toEqual([]);
    expect(await matches('/fhir/Observation?code:text=BLOOD%20press')).toEqual(
      [ourId(CLINIC, 'Observation', 'bp1'), ourId(CLINIC, 'Observation', 'bp2')].sort(),
    );
    expect(
      await matches(`/fhir/Patient?_has:Observation:subject:component-code-value-quantity=8480-6$gt100`),
    ).toEqual([clinicPatient]);
    expect(
      await matches(
        `/fhir/Observation?subject._has:Observation:subject:code-value-string=8251-1$fasting&_count=10`,
      ),
    ).toHaveLength(4);
  });

  it('refuses a _has or chain that links more rows than SEARCH_LINK_LIMIT with a 400 too-costly naming it', async () => {
    const observations = await matches('/fhir/Observation?status=final&_count=1000');
    expect(observations.length).toBeGreaterThan(LINK_LIMIT);
    const response = await harness.http().get('/fhir/Patient?_has:Observation:subject:status=final');
    expect(response.status).toBe(400);
    const outcome = response.body as OperationOutcome;
    expect(outcome.issue[0]).toMatchObject({
      code: 'too-costly',
      diagnostics: expect.stringContaining('_has:Observation:subject:status'),
      expression: ['_has:Observation:subject:status'],
    });
    const chain = await harness.http().get('/fhir/Encounter?_has:Observation:encounter:status=final');
    expect(chain.status).toBe(400);
  });

  it.each([
    ['Observation?subject.colour=x', 'subject.colour', /"colour" is not a search parameter/],
    ['Observation?code.name=x', 'code.name', /only references can be chained/],
    [
      'Observation?subject:Patient.organization.partof.partof.name=x',
      'subject:Patient.organization.partof.partof.name',
      /at most 3/,
    ],
    ['Patient?_has:Observation:code:code=x', '_has:Observation:code:code', /not a reference parameter/],
    [
      'Patient?_has:Observation:subject:colour=x',
      '_has:Observation:subject:colour',
      /not a search parameter of Observation/,
    ],
    ['Observation?code-value-quantity=8480-6', 'code-value-quantity', /2 components/],
    ['Observation?code-value-quantity=8480-6$big', 'code-value-quantity', /not a number/],
    ['Observation?code-value-date=8480-6$2024-13', 'code-value-date', /not a valid FHIR date/],
    [
      'Observation?code-value-quantity:exact=8480-6$1',
      'code-value-quantity:exact',
      /not supported on composite/,
    ],
    ['Patient?identifier:of-type=MR|1', 'identifier:of-type', /type system/],
    ['Observation?subject:mdm=Practitioner/1', 'subject:mdm', /Patient reference/],
  ])('%s → 400 OperationOutcome naming %s', async (query, parameter, message) => {
    const response = await harness.http().get(`/fhir/${query}`);
    expect({ query, status: response.status }).toEqual({ query, status: 400 });
    const issue = (response.body as OperationOutcome).issue[0];
    expect(issue.diagnostics).toMatch(message);
    expect(issue.expression).toEqual([parameter]);
  });

  it('lists chains, _has, composites, includes and revincludes in the CapabilityStatement', async () => {
    const metadata = (await get('/fhir/metadata')) as unknown as CapabilityStatement;
    const observation = metadata.rest![0].resource!.find((r) => r.type === 'Observation')!;
    const byName = new Map(observation.searchParam!.map((p) => [p.name, p]));
    for (const composite of [
      'code-value-quantity',
      'code-value-concept',
      'code-value-date',
      'code-value-string',
      'component-code-value-quantity',
      'combo-code-value-quantity',
    ])
      expect({ composite, type: byName.get(composite)?.type }).toEqual({ composite, type: 'composite' });
    expect(byName.get('subject')?.extension?.[0].valueString).toMatch(/Patient/);
    expect(byName.get('_has')?.type).toBe('special');
    expect(observation.searchInclude).toContain('Observation:subject');
    const patientResource = metadata.rest![0].resource!.find((r) => r.type === 'Patient')!;
    expect(patientResource.searchRevInclude).toContain('Observation:subject');
  });
});
