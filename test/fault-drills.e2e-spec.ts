import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { AggregatorHarness, runCli, startAggregator } from './support/aggregator-harness';
import { createTestDatabase } from '@fa/testkit';
import { counter, outageDrill, writeObservationCopies } from './support/drill-data';

const TOTAL = 8000;

/**
 * Fault drills: each one takes something away mid-work, brings it back, and states what it proves.
 * The service reaches PostgreSQL through a TCP proxy; cutting it drops every connection and refuses new ones,
 * which is what a PostgreSQL restart (or a network partition) looks like to the service.
 */
describe('fault drills', () => {
  let harness: AggregatorHarness;
  let dir: string;

  beforeAll(async () => {
    harness = await startAggregator({ viaProxy: true });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-drill-'));
  });
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('PostgreSQL gone mid-ingest and mid-projection: reads answer 503 meanwhile (never 500), then the rerun and the projections resume and every event takes effect exactly once', async () => {
    const file = path.join(dir, 'Observation.ndjson');
    await writeObservationCopies(file, TOTAL, 'd-');
    const drill = await outageDrill(
      harness,
      { file, source: 'drill-a', total: TOTAL },
      {
        takeAway: () => harness.databaseProxy!.cut(),
        whileAway: async () => {
          const search = await harness.http().get('/fhir/Observation?code=http://loinc.org|8302-2');
          expect(search.headers['retry-after']).toMatch(/^\d+$/);
          expect((await harness.http().get('/fhir/Observation/anything')).status).toBe(503);
        },
        bringBack: async () => {
          await new Promise((resolve) => setTimeout(resolve, 2000));
          await harness.databaseProxy!.restore();
        },
      },
    );
    process.stdout.write(
      `drill: projected ${drill.projectedAtFault} of ${TOTAL} at the cut; first ingest ${drill.firstIngest}\n`,
    );
  }, 300_000);
  it('kill -9 of the process projecting (cli ingest drains the projections after appending), then a rerun: every event applied exactly once', async () => {
    const database = await createTestDatabase(3);
    try {
      const total = 20_000;
      const file = path.join(dir, 'Observation-20k.ndjson');
      await writeObservationCopies(file, total, 'k-');
      const count = counter(database.pool);
      const appended = () =>
        count(`SELECT count(*) AS n FROM events WHERE type = 'ResourceVersionRecorded'`).catch(() => 0);
      const projected = () => count('SELECT count(*) AS n FROM fhir_store.resource_versions').catch(() => 0);
      let child: ChildProcess | undefined;
      const args = ['ingest', '--source', 'drill-k', file];
      const first = runCli(args, database.url, { onSpawn: (spawned) => (child = spawned) });
      // Every event appended, the projection part way through them: that is when to kill.
      let atKill = { appended: 0, projected: 0 };
      const watcher = (async () => {
        for (;;) {
          const [a, p] = [await appended(), await projected()];
          if (a === total && p > 0) {
            atKill = { appended: a, projected: p };
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      expect(await Promise.race([first.then(() => 'finished first'), watcher.then(() => 'watching')])).toBe(
        'watching',
      );
      child!.kill('SIGKILL');
      expect((await first).signal).toBe('SIGKILL');
      const afterKill = await projected();
      expect(atKill.projected).toBeLessThan(total);
      expect(afterKill).toBeLessThan(total);

      const rerun = await runCli(args, database.url);
      expect(rerun.code).toBe(0);
      expect(rerun.stdout).toMatch(new RegExp(`unchanged\\s+${total}\\b`));
      const rows = await projected();
      const distinctEvents = await count(
        'SELECT count(DISTINCT event_id) AS n FROM fhir_store.resource_versions',
      );
      expect({ rows, distinctEvents }).toEqual({ rows: total, distinctEvents: total });
      process.stdout.write(`drill: killed with ${afterKill} of ${total} projected\n`);
    } finally {
      await database.drop();
    }
  }, 300_000);
});
