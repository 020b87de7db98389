import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { v5 as uuidv5 } from 'uuid';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import { AggregatorHarness, FIXTURES, startAggregator } from './support/aggregator-harness';

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
const UPDATE = path.join(FIXTURES, 'sample-update');
const SOURCE = 'sample';
const RUN = '/fhir/ViewDefinition/$viewdefinition-run';

/** The documented id rule, restated rather than imported: UUIDv5 of "source|type|id". */
const ourId = (type: string, id: string) => uuidv5(`${SOURCE}|${type}|${id}`, AGGREGATOR_NAMESPACE);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function ndjson(file: string): Promise<Json[]> {
  const text = await fs.readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

const PATIENT_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'patient_contact',
  resource: 'Patient',
  status: 'active',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'gender', path: 'gender', type: 'code' },
        { name: 'birth_date', path: 'birthDate', type: 'date' },
        { name: 'phone', path: "telecom.where(system = 'phone').value.first()", type: 'string' },
      ],
    },
    { forEach: 'address', column: [{ name: 'line', path: "line.join(' ')", type: 'string' }] },
  ],
};

/** The patient view computed from the NDJSON the sources sent, by plain code. */
const patientRow = (p: Json) => ({
  id: ourId('Patient', p.id),
  gender: p.gender,
  birth_date: p.birthDate,
  phone: p.telecom.find((t: Json) => t.system === 'phone').value,
  line: p.address[0].line.join(' '),
});

const OBSERVATION_VIEW = {
  resourceType: 'ViewDefinition',
  resource: 'Observation',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()' },
        { name: 'patient', path: 'subject.getReferenceKey(Patient)' },
        { name: 'value', path: 'value.ofType(Quantity).value' },
        { name: 'unit', path: 'value.ofType(Quantity).code' },
      ],
    },
  ],
  where: [{ path: 'value.ofType(Quantity).exists()' }],
};

const body = (view: unknown, ...parameters: Json[]) => ({
  resourceType: 'Parameters',
  parameter: [{ name: 'viewResource', resource: view }, ...parameters],
});
const byId = (a: Json, b: Json) => `${a.id}`.localeCompare(`${b.id}`);

describe('ViewDefinition/$viewdefinition-run over HTTP (real PostgreSQL, synthea-2-patients)', () => {
  let harness: AggregatorHarness;
  let patients: Json[];
  let updated: Json[];
  let observations: Json[];
  let between: string;

  beforeAll(async () => {
    harness = await startAggregator();
    patients = await ndjson(path.join(SAMPLE, 'Patient.ndjson'));
    updated = await ndjson(path.join(UPDATE, 'Patient.ndjson'));
    observations = await ndjson(path.join(SAMPLE, 'Observation.ndjson'));
    expect(await harness.ingest(SOURCE, [SAMPLE])).toMatchObject({ rejected: [] });
    await new Promise((resolve) => setTimeout(resolve, 10));
    between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await harness.ingest(SOURCE, [UPDATE])).toMatchObject({ recorded: 1 });
  });
  afterAll(() => harness.close());

  const now = () =>
    [...patients.filter((p) => p.id !== updated[0].id), ...updated].map(patientRow).sort(byId);

  it('answers json with the rows the NDJSON gives, now and _asOf between the two ingests', async () => {
    const current = await harness.http().post(RUN).send(body(PATIENT_VIEW)).expect(200);
    expect(current.type).toBe('application/json');
    expect([...current.body].sort(byId)).toEqual(now());
    expect(current.body.find((r: Json) => r.id === ourId('Patient', updated[0].id)).line).toBe(
      '42 Updated Street',
    );

    const before = await harness
      .http()
      .post(RUN)
      .send(body(PATIENT_VIEW, { name: '_asOf', valueDateTime: between }))
      .expect(200);
    expect([...before.body].sort(byId)).toEqual(patients.map(patientRow).sort(byId));
    expect(before.body).not.toEqual(current.body);
  });

  it('streams ndjson and csv (header, columns in view order), _format in the body or the query', async () => {
    const lines = await harness
      .http()
      .post(RUN)
      .send(body(PATIENT_VIEW, { name: '_format', valueCode: 'ndjson' }))
      .expect(200);
    expect(lines.type).toBe('application/x-ndjson');
    const rows = lines.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.sort(byId)).toEqual(now());
    expect(Object.keys(rows[0])).toEqual(['id', 'gender', 'birth_date', 'phone', 'line']);

    const csv = await harness
      .http()
      .post(`${RUN}?_format=csv`)
      .send(body(PATIENT_VIEW))
      .buffer(true)
      .expect(200);
    expect(csv.type).toBe('text/csv');
    const records = parseCsv(csv.text) as string[][];
    expect(records[0]).toEqual(['id', 'gender', 'birth_date', 'phone', 'line']);
    const asObjects = records.slice(1).map((r) => Object.fromEntries(records[0].map((c, i) => [c, r[i]])));
    expect(asObjects.sort(byId)).toEqual(now());
  });

  it("filters by patient (the patient's compartment) and stops at _limit", async () => {
    const patient = patients[0];
    const expected = observations
      .filter((o) => o.subject.reference === `Patient/${patient.id}` && o.valueQuantity !== undefined)
      .map((o) => ({
        id: ourId('Observation', o.id),
        patient: ourId('Patient', patient.id),
        value: o.valueQuantity.value,
        unit: o.valueQuantity.code ?? null,
      }))
      .sort(byId);
    expect(expected.length).toBeGreaterThan(1);
    const reference = {
      name: 'patient',
      valueReference: { reference: `Patient/${ourId('Patient', patient.id)}` },
    };
    const filtered = await harness.http().post(RUN).send(body(OBSERVATION_VIEW, reference)).expect(200);
    expect([...filtered.body].sort(byId)).toEqual(expected);

    const all = await harness.http().post(RUN).send(body(OBSERVATION_VIEW)).expect(200);
    expect(all.body.length).toBe(observations.filter((o) => o.valueQuantity !== undefined).length);
    expect(all.body.length).toBeGreaterThan(expected.length);

    const limited = await harness
      .http()
      .post(RUN)
      .send(body(OBSERVATION_VIEW, reference, { name: '_limit', valueInteger: 1 }))
      .expect(200);
    expect(limited.body).toHaveLength(1);
    expect(expected).toContainEqual(limited.body[0]);

    const unknown = await harness
      .http()
      .post(RUN)
      .send(body(OBSERVATION_VIEW, { name: 'patient', valueString: 'Patient/no-such-patient' }))
      .expect(404);
    expect(unknown.body.resourceType).toBe('OperationOutcome');
  });

  it.each([
    [
      'an unknown resource type',
      { ...PATIENT_VIEW, resource: 'Patients' },
      'ViewDefinition.resource',
      /Patients/,
    ],
    [
      'FHIRPath that does not parse',
      { resource: 'Patient', select: [{ column: [{ name: 'id', path: 'name.(' }] }] },
      'ViewDefinition.select[0].column[0].path',
      /does not parse/,
    ],
    [
      'a column without a name',
      { resource: 'Patient', select: [{ column: [{ path: 'id' }] }] },
      'ViewDefinition.select[0].column[0].name',
      /required/,
    ],
    [
      'a forEach that is not an expression',
      { resource: 'Patient', select: [{ forEach: 3, column: [{ name: 'id', path: 'id' }] }] },
      'ViewDefinition.select[0].forEach',
      /FHIRPath expression/,
    ],
    [
      'a non-collection column meeting several values',
      { resource: 'Patient', select: [{ column: [{ name: 'identifier', path: 'identifier.value' }] }] },
      'ViewDefinition.select[0].column[0].path',
      /collection: true/,
    ],
  ])(
    'rejects %s with a 400 OperationOutcome naming the element',
    async (_what, view, expression, diagnostics) => {
      const response = await harness.http().post(RUN).send(body(view)).expect(400);
      expect(response.body.resourceType).toBe('OperationOutcome');
      expect(response.body.issue[0].expression).toEqual([expression]);
      expect(response.body.issue[0].diagnostics).toMatch(diagnostics);
    },
  );

  it('rejects a missing viewResource, an unknown _format and a GET', async () => {
    const missing = await harness
      .http()
      .post(RUN)
      .send({ resourceType: 'Parameters', parameter: [] })
      .expect(400);
    expect(missing.body.issue[0].expression).toEqual(['viewResource']);
    const format = await harness.http().post(`${RUN}?_format=parquet`).send(body(PATIENT_VIEW)).expect(400);
    expect(format.body.issue[0].expression).toEqual(['_format']);
    const get = await harness.http().get(RUN);
    expect(get.status).toBeGreaterThanOrEqual(400);
    expect(get.status).toBeLessThan(500);
  });
});
