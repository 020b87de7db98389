import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileIngestionService } from '@fa/ingestion';
import type { ChildProcess } from 'node:child_process';
import { AggregatorHarness, FIXTURES, runCli, startAggregator } from './support/aggregator-harness';
import { createTestDatabase, eventually } from '@fa/testkit';

const OBSERVATIONS = path.join(FIXTURES, 'synthea-2-patients', 'Observation.ndjson');
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
    const template = (await fs.readFile(OBSERVATIONS, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const file = path.join(dir, 'Observation.ndjson');
    await fs.writeFile(
      file,
      Array.from({ length: TOTAL }, (_, i) =>
        JSON.stringify({ ...template[i % template.length], id: `d-${i}` }),
      ).join('\n'),
    );
    const direct = harness.database.pool;
    const count = async (sql: string) => Number((await direct.query<{ n: string }>(sql)).rows[0].n);
    const projected = () => count('SELECT count(*) AS n FROM fhir_store.resource_versions').catch(() => 0);
    const ingest = () =>
      harness.app.get(FileIngestionService).ingest('drill-a', [file], { ingestionInstance: 'drill' });

    const first = ingest().then(
      () => 'completed',
      (error: Error) => `failed: ${error.message}`,
    );
    const atCut = await eventually(projected, (n) => n >= 300, 60_000);
    await harness.databaseProxy!.cut();
    // Taken away while the projection was part way: the drill is about resuming, not about starting.
    expect(atCut).toBeLessThan(TOTAL);

    const search = await harness.http().get('/fhir/Observation?code=http://loinc.org|8302-2');
    expect(search.status).toBe(503);
    expect(search.headers['retry-after']).toMatch(/^\d+$/);
    expect(search.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
    const read = await harness.http().get('/fhir/Observation/anything');
    expect(read.status).toBe(503);
    const firstOutcome = await first;

    await new Promise((resolve) => setTimeout(resolve, 2000));
    await harness.databaseProxy!.restore();
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
      `SELECT count(*) AS n FROM events WHERE type = 'ResourceVersionRecorded' AND metadata->>'source' = 'drill-a'`,
    );
    const duplicated = await count(
      `SELECT count(*) AS n FROM (SELECT stream_id FROM events WHERE metadata->>'source' = 'drill-a' GROUP BY stream_id HAVING count(*) > 1) d`,
    );
    expect({ events, duplicated }).toEqual({ events: TOTAL, duplicated: 0 });
    // Every event applied once: one version row per event, none twice, none missing.
    const rows = await count(
      `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'drill-a'`,
    );
    const distinctEvents = await count(
      `SELECT count(DISTINCT event_id) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'drill-a'`,
    );
    expect({ rows, distinctEvents }).toEqual({ rows: TOTAL, distinctEvents: TOTAL });
    const after = await harness.http().get('/fhir/Observation?_summary=count');
    expect(after.status).toBe(200);
    expect(after.body.total).toBe(TOTAL);
    process.stdout.write(`drill: projected ${atCut} of ${TOTAL} at the cut; first ingest ${firstOutcome}\n`);
  }, 300_000);
  it('kill -9 of the process projecting (cli ingest drains the projections after appending), then a rerun: every event applied exactly once', async () => {
    const database = await createTestDatabase(3);
    try {
      const template = (await fs.readFile(OBSERVATIONS, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const total = 20_000;
      const file = path.join(dir, 'Observation-20k.ndjson');
      await fs.writeFile(
        file,
        Array.from({ length: total }, (_, i) =>
          JSON.stringify({ ...template[i % template.length], id: `k-${i}` }),
        ).join('\n'),
      );
      const count = async (sql: string) => Number((await database.pool.query<{ n: string }>(sql)).rows[0].n);
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
