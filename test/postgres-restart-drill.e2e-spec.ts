import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { eventually } from '@fa/testkit';
import { AggregatorHarness, startAggregator } from './support/aggregator-harness';
import { outageDrill, writeObservationCopies } from './support/drill-data';
import { PostgresProcess, startPostgresProcess } from './support/embedded-postgres-process';

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
  let port: number;
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
    const file = path.join(dataDir, 'Observation.ndjson');
    await writeObservationCopies(file, TOTAL, 'r-');
    const drill = await outageDrill(
      harness,
      { file, source: 'restart-a', total: TOTAL },
      {
        takeAway: async () => {
          port = postgres!.port;
          await postgres!.stop();
          postgres = undefined;
        },
        bringBack: async () => {
          postgres = await startPostgresProcess(dataDir, port);
          // Reads answer again once the pool reconnects, with no restart of the service.
          await eventually(
            async () => (await harness.http().get('/fhir/Observation?_summary=count')).status,
            (status) => status === 200,
            60_000,
          );
        },
      },
    );
    // Each projection's checkpoint is at the head of the log.
    const status = await harness.runtime.runner.status();
    const head = await harness.runtime.store.headPosition();
    for (const projection of status)
      expect({ [projection.name]: projection.checkpoint }).toEqual({ [projection.name]: head });
    process.stdout.write(
      `restart drill: projected ${drill.projectedAtFault} of ${TOTAL} at the stop; first ingest ${drill.firstIngest}\n`,
    );
  }, 300_000);
});
