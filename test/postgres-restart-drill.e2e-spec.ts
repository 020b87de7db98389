import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileIngestionService } from '@fa/ingestion';
import { eventually } from '@fa/testkit';
import { AggregatorHarness, FIXTURES, startAggregator } from './support/aggregator-harness';
import { PostgresProcess, startPostgresProcess } from './support/embedded-postgres-process';

const OBSERVATIONS = path.join(FIXTURES, 'synthea-2-patients', 'Observation.ndjson');
const TOTAL = 8000;

/**
 * The PostgreSQL restart drill: the service runs on an embedded PostgreSQL of its own (its own data directory,
 * not the run's shared server), which is stopped for real mid-ingest and mid-projection (a fast shutdown: every
 * connection closed by the server, the port refused) and started again on the same data directory and port.
 * It proves that the projections resume from their checkpoints, that reads answer again, and that no event is
 * applied twice and none is lost.
 */
describe('PostgreSQL stopped and restarted mid-projection', () => {
  let dataDir: string;
  let postgres: PostgresProcess | undefined;
  let harness: AggregatorHarness;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-pg-restart-'));
    // As root, embedded-postgres runs PostgreSQL as its own user, which must reach the directory.
    await fs.chmod(dataDir, 0o755);
    postgres = await startPostgresProcess(dataDir);
    harness = await startAggregator({ serverUrl: postgres.url });
  }, 120_000);
  afterAll(async () => {
    await harness?.close();
    await postgres?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('stopped part way, started again on the same data directory: reads 503 meanwhile, then the projections resume, reads answer, every event applied exactly once', async () => {
    const template = (await fs.readFile(OBSERVATIONS, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const file = path.join(dataDir, 'Observation.ndjson');
    await fs.writeFile(
      file,
      Array.from({ length: TOTAL }, (_, i) =>
        JSON.stringify({ ...template[i % template.length], id: `r-${i}` }),
      ).join('\n'),
    );
    const direct = harness.database.pool;
    const count = async (sql: string) => Number((await direct.query<{ n: string }>(sql)).rows[0].n);
    const projected = () => count('SELECT count(*) AS n FROM fhir_store.resource_versions').catch(() => 0);
    const ingest = () =>
      harness.app.get(FileIngestionService).ingest('restart-a', [file], { ingestionInstance: 'restart' });

    const first = ingest().then(
      () => 'completed',
      (error: Error) => `failed: ${error.message}`,
    );
    const atStop = await eventually(projected, (n) => n >= 300, 60_000);
    const { port } = postgres!;
    await postgres!.stop();
    postgres = undefined;
    // Stopped while the projection was part way: the drill is about resuming, not about starting.
    expect(atStop).toBeLessThan(TOTAL);

    const search = await harness.http().get('/fhir/Observation?code=http://loinc.org|8302-2');
    expect(search.status).toBe(503);
    expect(search.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
    const firstOutcome = await first;

    postgres = await startPostgresProcess(dataDir, port);
    // Reads answer again once the pool reconnects, with no restart of the service.
    await eventually(
      async () => (await harness.http().get('/fhir/Observation?_summary=count')).status,
      (status) => status === 200,
      60_000,
    );
    // The CLI would say the ingest failed and be run again; the rerun records only what is missing.
    await eventually(
      () =>
        ingest().then(
          () => true,
          () => false,
        ),
      (done) => done,
      60_000,
    );
    await harness.runtime.runner.waitForCatchUp(120_000);

    const events = await count(
      `SELECT count(*) AS n FROM events WHERE type = 'ResourceVersionRecorded' AND metadata->>'source' = 'restart-a'`,
    );
    const duplicated = await count(
      `SELECT count(*) AS n FROM (SELECT stream_id FROM events WHERE metadata->>'source' = 'restart-a' GROUP BY stream_id HAVING count(*) > 1) d`,
    );
    expect({ events, duplicated }).toEqual({ events: TOTAL, duplicated: 0 });
    // Every event applied once by the read model: one version row per event, none twice, none missing.
    const rows = await count(
      `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'restart-a'`,
    );
    const distinctEvents = await count(
      `SELECT count(DISTINCT event_id) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'restart-a'`,
    );
    expect({ rows, distinctEvents }).toEqual({ rows: TOTAL, distinctEvents: TOTAL });
    // Each projection's checkpoint is at the head and counted each event it processed once.
    const status = await harness.runtime.runner.status();
    const head = await harness.runtime.store.headPosition();
    for (const projection of status)
      expect({ [projection.name]: projection.checkpoint }).toEqual({ [projection.name]: head });
    const after = await harness.http().get('/fhir/Observation?_summary=count');
    expect(after.status).toBe(200);
    expect(after.body.total).toBe(TOTAL);
    process.stdout.write(
      `restart drill: projected ${atStop} of ${TOTAL} at the stop; first ingest ${firstOutcome}\n`,
    );
  }, 300_000);
});
