import { digestEventLog, PostgresEventStore } from '@fa/event-store';
import { createTestDatabase, TestDatabase } from '@fa/testkit';
import { runCli } from './support/aggregator-harness';
import { SYNTHEA_79_RESOURCES, synthea79Database } from './support/synthea-79-store';

const count = async (database: TestDatabase, sql: string) =>
  Number((await database.pool.query<{ n: string }>(sql)).rows[0].n);

describe('cli event-store copy: synthea-79 log between two PostgreSQL databases (CLI processes)', () => {
  let from: TestDatabase;
  let to: TestDatabase;

  beforeAll(async () => {
    // From: a copy of the run's synthea-79 store (the export as `cli ingest` records it, built once per run).
    [from, to] = await Promise.all([synthea79Database(3), createTestDatabase(3)]);
  }, 600_000);
  afterAll(async () => {
    await Promise.all([from?.drop(), to?.drop()]);
  });

  it('copies every event with equal digests, a re-run copies nothing, and the copy serves the same read model after a replay', async () => {
    const events = await count(from, 'SELECT count(*) AS n FROM events');
    expect(events).toBeGreaterThan(SYNTHEA_79_RESOURCES);

    const copy = await runCli(['event-store', 'copy', '--from', from.url, '--to', to.url], from.url);
    expect(copy.stderr).not.toMatch(/error/i);
    expect(copy.code).toBe(0);
    expect(copy.stdout).toMatch(/already in target\s+0\n/);
    expect(copy.stdout).toMatch(new RegExp(`copied\\s+${events} events`));
    expect(copy.stdout).toContain('digests match');
    const digests = [...copy.stdout.matchAll(/digest\s+([0-9a-f]{64}) \((\d+) events/g)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(digests).toHaveLength(2);
    expect(digests[0]).toEqual(digests[1]);
    expect(digests[0][1]).toBe(String(events));
    process.stdout.write(`event-store copy of synthea-79: ${copy.stdout.split('\n')[2].trim()}\n`);

    // Computed here too, on the test's own connections, not only as the CLI reports it.
    const [a, b] = [new PostgresEventStore(from.pool), new PostgresEventStore(to.pool)];
    try {
      const [da, db] = await Promise.all([digestEventLog(a), digestEventLog(b)]);
      expect(db).toEqual(da);
      expect(da.sha256).toBe(digests[0][0]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }

    const again = await runCli(['event-store', 'copy', '--from', from.url, '--to', to.url], from.url);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`already in target\\s+${events}\\n`));
    expect(again.stdout).toMatch(/copied\s+0 events/);

    const replay = await runCli(['replay', 'fhir-store'], to.url);
    expect(replay.code).toBe(0);
    const versions = 'SELECT count(*) AS n FROM fhir_store.resource_versions';
    expect(await count(to, versions)).toBe(await count(from, versions));
    expect(await count(to, versions)).toBeGreaterThanOrEqual(SYNTHEA_79_RESOURCES);
  }, 600_000);
});
