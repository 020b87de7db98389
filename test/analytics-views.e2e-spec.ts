import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { v5 as uuidv5 } from 'uuid';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import { eventually } from '@fa/testkit';
import { AggregatorHarness, FIXTURES, runCli, startAggregator } from './support/aggregator-harness';

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
const UPDATE = path.join(FIXTURES, 'sample-update');
const SOURCE = 'sample';

/** The documented id rule, restated rather than imported: UUIDv5 of "source|type|id". */
const ourId = (type: string, id: string) => uuidv5(`${SOURCE}|${type}|${id}`, AGGREGATOR_NAMESPACE);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const VIEW = {
  resourceType: 'ViewDefinition',
  name: 'patient_contact',
  resource: 'Patient',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'birth_date', path: 'birthDate', type: 'date' },
        { name: 'phone', path: "telecom.where(system = 'phone').value.first()", type: 'string' },
        { name: 'address_lines', path: 'address.line.count()', type: 'integer' },
      ],
    },
    { forEach: 'address', column: [{ name: 'line', path: "line.join(' ')", type: 'string' }] },
  ],
};

/** The view computed from the NDJSON the source sent, by plain code: what SQL must return. */
const expectedRow = (p: Json) => ({
  id: ourId('Patient', p.id),
  birth_date: p.birthDate,
  phone: p.telecom.find((t: Json) => t.system === 'phone').value,
  address_lines: String(p.address.flatMap((a: Json) => a.line).length),
  line: p.address[0].line.join(' '),
});

async function ndjson(file: string): Promise<Json[]> {
  return (await fs.readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

describe('materialized SQL on FHIR views: cli views add, then plain SQL now and as of an earlier instant', () => {
  let harness: AggregatorHarness;
  let dir: string;
  let patients: Json[];
  let updated: Json;
  let between: string;

  /** Plain SQL, as an analyst would type it in psql. */
  const sql = async (text: string, values: unknown[] = []) =>
    (await harness.database.pool.query(text, values)).rows.map((r) => ({
      ...r,
      address_lines: String(r.address_lines),
    }));
  const rowsOf = (asOf?: string) =>
    asOf === undefined
      ? sql('SELECT id, birth_date, phone, address_lines, line FROM analytics.patient_contact() ORDER BY id')
      : sql(
          'SELECT id, birth_date, phone, address_lines, line FROM analytics.patient_contact($1) ORDER BY id',
          [asOf],
        );
  const byId = (a: Json, b: Json) => `${a.id}`.localeCompare(`${b.id}`);

  beforeAll(async () => {
    harness = await startAggregator();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-views-'));
    patients = await ndjson(path.join(SAMPLE, 'Patient.ndjson'));
    [updated] = await ndjson(path.join(UPDATE, 'Patient.ndjson'));
    await harness.ingest(SOURCE, [SAMPLE]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await harness.ingest(SOURCE, [UPDATE])).toMatchObject({ recorded: 1 });
  });
  afterAll(async () => {
    await harness.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('registers a view added after the data and materializes every version with its record-time range', async () => {
    const file = path.join(dir, 'patient_contact.json');
    await fs.writeFile(file, JSON.stringify(VIEW));
    const added = await runCli(['views', 'add', file], harness.database.url);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      /patient_contact: registered \(Patient: id, birth_date, phone, address_lines, line\)/,
    );

    const now = [...patients.filter((p) => p.id !== updated.id), updated].map(expectedRow).sort(byId);
    const current = await eventually(
      () => rowsOf().catch(() => []),
      (rows) => rows.length === now.length,
    );
    expect(current).toEqual(now);
    expect(await rowsOf(between)).toEqual(patients.map(expectedRow).sort(byId));
    // The same as the function, over the table itself: every version, its range, the current one open.
    const versions = await harness.database.pool.query(
      `SELECT row->>'line' AS line, recorded_from, recorded_to FROM analytics.view_rows
        WHERE view_name = 'patient_contact' AND resource_id = $1 ORDER BY recorded_from`,
      [ourId('Patient', updated.id)],
    );
    expect(versions.rows.map((r) => r.line)).toEqual(['247 Cronin Station Suite 76', '42 Updated Street']);
    expect(versions.rows[0].recorded_to).toEqual(versions.rows[1].recorded_from);
    expect(versions.rows[1].recorded_to).toBeNull();
    expect(new Date(versions.rows[0].recorded_to).getTime()).toBeGreaterThan(new Date(between).getTime());

    const again = await runCli(['views', 'add', file], harness.database.url);
    expect(again.stdout).toMatch(/already registered/);
  });

  it('keeps the view current from the log as new versions arrive, the earlier instant unchanged', async () => {
    const afterUpdate = new Date().toISOString();
    const file = path.join(dir, 'Patient-phone.ndjson');
    const changed = {
      ...updated,
      meta: { ...updated.meta, lastUpdated: '2026-02-01T00:00:00Z' },
      telecom: [{ system: 'phone', value: '555-0199', use: 'home' }],
    };
    await fs.writeFile(file, JSON.stringify(changed) + '\n');
    expect(await harness.ingest(SOURCE, [file])).toMatchObject({ recorded: 1 });
    const id = ourId('Patient', updated.id);
    const current = await eventually(
      () => rowsOf(),
      (rows) => rows.find((r) => r.id === id)?.phone === '555-0199',
    );
    expect(current.find((r) => r.id === id)).toEqual(expectedRow(changed));
    expect((await rowsOf(afterUpdate)).find((r) => r.id === id)).toEqual(expectedRow(updated));
    expect((await rowsOf(between)).find((r) => r.id === id)).toEqual(
      expectedRow(patients.find((p) => p.id === updated.id)!),
    );
  });

  it('records the versions a view cannot be evaluated on in view_errors, and materializes the rest', async () => {
    const file = path.join(dir, 'identifiers.json');
    const view = {
      resourceType: 'ViewDefinition',
      name: 'patient_identifier',
      resource: 'Patient',
      select: [{ column: [{ name: 'value', path: 'identifier.value' }] }],
    };
    await fs.writeFile(file, JSON.stringify(view));
    expect((await runCli(['views', 'add', file], harness.database.url)).code).toBe(0);
    const errors = await eventually(
      async () =>
        (
          await harness.database.pool
            .query(
              `SELECT resource_id, element FROM analytics.view_errors WHERE view_name = 'patient_identifier'`,
            )
            .catch(() => ({ rows: [] }))
        ).rows,
      (rows) => rows.length >= patients.length,
    );
    expect(new Set(errors.map((e) => e.resource_id))).toEqual(
      new Set(patients.map((p) => ourId('Patient', p.id))),
    );
    expect(errors.every((e) => e.element === 'select[0].column[0].path')).toBe(true);
    expect((await sql('SELECT * FROM analytics.patient_contact()')).length).toBe(patients.length);
  });

  it('rebuilds through a new generation (what cli replay analytics-views runs) to the same rows; a read-only analyst role keeps reading', async () => {
    // The README's analyst role, verbatim but for the name and password.
    const role = `analyst_${Math.random().toString(36).slice(2, 8)}`;
    const owner = (await harness.database.pool.query('SELECT current_user AS u')).rows[0].u as string;
    await harness.database.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'analyst-pw'`);
    await harness.database.pool.query(`GRANT USAGE ON SCHEMA analytics TO ${role}`);
    await harness.database.pool.query(`GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO ${role}`);
    await harness.database.pool.query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA analytics GRANT SELECT ON TABLES TO ${role}`,
    );
    // Golden patient columns read Patient Identity's links; the findings function its findings table.
    await harness.database.pool.query(`GRANT USAGE ON SCHEMA patient_identity, revenue_cycle TO ${role}`);
    await harness.database.pool.query(
      `GRANT SELECT ON patient_identity.links, revenue_cycle.findings TO ${role}`,
    );
    const url = new URL(harness.database.url);
    url.username = role;
    url.password = 'analyst-pw';
    const analyst = new Client({ connectionString: url.toString() });
    await analyst.connect();
    try {
      const count = async () =>
        Number((await analyst.query('SELECT count(*) AS n FROM analytics.patient_contact()')).rows[0].n);
      expect(await count()).toBe(patients.length);
      await expect(analyst.query('SELECT count(*) FROM fhir_store.resource_versions')).rejects.toThrow(
        /permission denied/,
      );
      await expect(analyst.query('DELETE FROM analytics.view_rows')).rejects.toThrow(/permission denied/);
      await analyst.query('SELECT count(golden_patient_id) FROM analytics.claim()');
      await analyst.query('SELECT count(*) FROM analytics.claim_history() WHERE recorded_to IS NULL');
      await analyst.query('SELECT count(*) FROM revenue_cycle.duplicate_claim_findings()');
      await expect(analyst.query('SELECT count(*) FROM patient_identity.decisions')).rejects.toThrow(
        /permission denied/,
      );

      const all = () =>
        harness.database.pool
          .query(
            `SELECT view_name, resource_id, row_number, row, recorded_from, recorded_to FROM analytics.view_rows
              ORDER BY view_name, resource_id, recorded_from, row_number`,
          )
          .then((r) => r.rows);
      const before = await all();
      expect(before.length).toBeGreaterThan(patients.length);
      const status = await harness.runtime.runner.rebuild('analytics-views');
      expect(status.rebuild).toMatchObject({ state: 'swapped' });
      expect(status.activeGeneration).toBe(2);
      expect(await all()).toEqual(before);
      expect(await rowsOf(between)).toEqual(patients.map(expectedRow).sort(byId));
      expect(await count()).toBe(patients.length);
    } finally {
      await analyst.end();
      await harness.database.pool.query(`DROP OWNED BY ${role}`);
      await harness.database.pool.query(`DROP ROLE ${role}`);
    }
  });

  it('refuses a definition that is invalid or has no SQL name, naming the element', async () => {
    const file = path.join(dir, 'bad.json');
    await fs.writeFile(file, JSON.stringify({ ...VIEW, name: 'Patient Contact' }));
    const unnamed = await runCli(['views', 'add', file], harness.database.url);
    expect(unnamed.code).not.toBe(0);
    expect(unnamed.stderr).toMatch(/name: a materialized view needs a name/);
    await fs.writeFile(file, JSON.stringify({ ...VIEW, resource: 'Patients' }));
    const unknown = await runCli(['views', 'add', file], harness.database.url);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/resource: "Patients" is not an R4 resource type/);
  });
});
