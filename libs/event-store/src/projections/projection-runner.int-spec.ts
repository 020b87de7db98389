import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { TestDatabase, createTestDatabase } from '@fa/testkit';
import type { RecordedEvent } from '../event-store.port';
import type { ProcessManager, ReadModelProjection } from '../projection.port';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { ProjectionRunner } from './projection-runner';

/** Counts events per stream; a unique key on event id makes any double application fail loudly. */
class CountingProjection implements ReadModelProjection {
  readonly kind = 'read-model';
  readonly name = 'counting';
  readonly readSchema = 'counting';
  readonly tables = ['applied'] as const;
  constructor(readonly version = 1) {}
  async setup(client: PoolClient, schema: string) {
    await client.query(`CREATE TABLE ${schema}.applied (event_id uuid PRIMARY KEY, stream_id text NOT NULL)`);
  }
  async apply(client: PoolClient, schema: string, events: RecordedEvent[]) {
    await client.query(`INSERT INTO ${schema}.applied SELECT * FROM unnest($1::uuid[], $2::text[])`, [
      events.map((e) => e.id),
      events.map((e) => e.streamId),
    ]);
  }
}

/** Records what it sees and decides nothing, but is a process manager: never to be rebuilt. */
class DecidingProcess implements ProcessManager {
  readonly kind = 'process-manager';
  readonly name = 'deciding';
  readonly readSchema = 'deciding';
  readonly tables = ['seen'] as const;
  constructor(readonly version = 1) {}
  async setup(client: PoolClient, schema: string) {
    await client.query(`CREATE TABLE ${schema}.seen (event_id uuid PRIMARY KEY)`);
  }
  async apply(client: PoolClient, schema: string, events: RecordedEvent[]) {
    await client.query(`INSERT INTO ${schema}.seen SELECT * FROM unnest($1::uuid[])`, [
      events.map((e) => e.id),
    ]);
  }
}

/** Counting, with an index left to rebuilds' end and a prepare() whose result apply() records. */
class PreparingProjection extends CountingProjection {
  readonly seen: { prepared: unknown; events: number; indexed: boolean }[] = [];
  deferredIndexSql(schema: string) {
    return `CREATE INDEX applied_stream ON ${schema}.applied (stream_id)`;
  }
  prepare(events: RecordedEvent[]) {
    return events.map((e) => e.id).join(',');
  }
  override async apply(client: PoolClient, schema: string, events: RecordedEvent[], prepared?: unknown) {
    const indexed = await client.query(
      `SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'applied_stream'`,
      [schema],
    );
    this.seen.push({ prepared, events: events.length, indexed: indexed.rowCount === 1 });
    expect(prepared).toBe(events.map((e) => e.id).join(','));
    await super.apply(client, schema, events);
  }
}

describe('ProjectionRunner', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeEach(async () => {
    database = await createTestDatabase(20);
    store = new PostgresEventStore(database.pool);
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    await database.drop();
  });

  const appendEvents = async (n: number) => {
    for (let i = 0; i < n; i += 100) {
      await store.appendMany(
        Array.from({ length: 10 }, (_, s) => ({
          streamId: `S-${s}`,
          events: Array.from({ length: 10 }, () => ({ id: randomUUID(), type: 'T', data: {} })),
        })),
      );
    }
  };
  const appliedCount = async () =>
    Number(
      (await database.pool.query<{ n: string }>('SELECT count(*) AS n FROM counting.applied')).rows[0].n,
    );

  it('applies each event exactly once when two runners (two processes) feed the same projection while events arrive', async () => {
    const a = new ProjectionRunner(database.pool, store, [new CountingProjection()], {
      batchSize: 37,
      idleDelayMs: 5,
    });
    const b = new ProjectionRunner(database.pool, store, [new CountingProjection()], {
      batchSize: 53,
      idleDelayMs: 5,
    });
    await Promise.all([a.start(), b.start()]);
    await appendEvents(3000);
    await a.waitForCatchUp();
    await b.waitForCatchUp();
    await Promise.all([a.stop(), b.stop()]);
    expect(await appliedCount()).toBe(3000);
    const [status] = await a.status();
    expect(status).toMatchObject({ name: 'counting', activeGeneration: 1, lag: 0 });
  });

  it('rebuilds into a new generation, swaps the read views atomically and drops the old tables', async () => {
    const runner = new ProjectionRunner(database.pool, store, [new CountingProjection()], { idleDelayMs: 5 });
    await runner.start();
    await appendEvents(1000);
    await runner.waitForCatchUp();
    const progress: string[] = [];
    const writer = appendEvents(500);
    const status = await runner.rebuild('counting', (state) => progress.push(state.state));
    await writer;
    await runner.waitForCatchUp();
    await runner.stop();
    expect(status.activeGeneration).toBe(2);
    expect(status.rebuild).toMatchObject({ state: 'swapped', generation: 2 });
    expect(progress).toContain('swapped');
    expect(await appliedCount()).toBe(1500);
    const schemas = await database.pool.query(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'counting%' ORDER BY 1`,
    );
    expect(schemas.rows.map((r) => r.nspname)).toEqual(['counting', 'counting_g2']);
  });

  it('rebuilds by itself when the projection code version changes', async () => {
    const v1 = new ProjectionRunner(database.pool, store, [new CountingProjection(1)]);
    await appendEvents(200);
    await v1.drain();
    const v2 = new ProjectionRunner(database.pool, store, [new CountingProjection(2)], { idleDelayMs: 5 });
    await v2.start();
    const deadline = Date.now() + 30_000;
    let status = (await v2.status())[0];
    while (status.version !== 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await v2.status())[0];
    }
    await v2.stop();
    expect(status).toMatchObject({ version: 2, activeGeneration: 2 });
    expect(await appliedCount()).toBe(200);
  });

  it('refuses a second concurrent rebuild of the same projection', async () => {
    const runner = new ProjectionRunner(database.pool, store, [new CountingProjection()]);
    await runner.initialize();
    await appendEvents(2000);
    const first = runner.rebuild('counting');
    await expect(runner.rebuild('counting')).rejects.toMatchObject({ name: 'RebuildAlreadyRunningError' });
    await first;
  });

  it('hands prepare() results to apply(), and creates deferred indexes at once, or after the bulk load of a rebuild', async () => {
    const projection = new PreparingProjection();
    const runner = new ProjectionRunner(database.pool, store, [projection], { batchSize: 100 });
    await appendEvents(1000);
    await runner.drain();
    expect(projection.seen.length).toBeGreaterThanOrEqual(10);
    expect(projection.seen.every((s) => s.indexed)).toBe(true);

    projection.seen.length = 0;
    await runner.rebuild('counting');
    expect(projection.seen.reduce((n, s) => n + s.events, 0)).toBe(1000);
    expect(projection.seen.every((s) => !s.indexed)).toBe(true);
    const index = await database.pool.query(
      `SELECT schemaname FROM pg_indexes WHERE indexname = 'applied_stream' ORDER BY 1`,
    );
    expect(index.rows.map((r) => r.schemaname)).toEqual(['counting_g2']);
    expect(await appliedCount()).toBe(1000);
  });

  it('never rebuilds a process manager: refused on request, and a new version applies from its checkpoint on', async () => {
    const v1 = new ProjectionRunner(database.pool, store, [new DecidingProcess(1)]);
    await appendEvents(200);
    await v1.drain();
    await expect(v1.rebuild('deciding')).rejects.toMatchObject({ name: 'NotRebuildableError' });
    const v2 = new ProjectionRunner(database.pool, store, [new DecidingProcess(2)], { idleDelayMs: 5 });
    await v2.start();
    await appendEvents(100);
    await v2.waitForCatchUp();
    await v2.stop();
    const [status] = await v2.status();
    expect(status).toMatchObject({ name: 'deciding', version: 2, activeGeneration: 1, lag: 0 });
    const seen = await database.pool.query<{ n: string }>('SELECT count(*) AS n FROM deciding.seen');
    expect(Number(seen.rows[0].n)).toBe(300);
  });

  it('reads only the streams followedStreams() names at each read, from the generation it is building', async () => {
    const seen: string[] = [];
    const schemas: string[] = [];
    let follow = ['S-1'];
    const projection = new (class extends CountingProjection {
      async followedStreams(_db: unknown, schema: string) {
        schemas.push(schema);
        return follow;
      }
      override async apply(client: PoolClient, schema: string, events: RecordedEvent[]) {
        seen.push(...events.map((e) => e.streamId));
        await super.apply(client, schema, events);
      }
    })();
    const runner = new ProjectionRunner(database.pool, store, [projection], { batchSize: 50 });
    await appendEvents(100);
    await runner.drain();
    expect(new Set(seen)).toEqual(new Set(['S-1']));
    expect(seen.length).toBe(10);
    follow = ['S-2', 'S-3'];
    await appendEvents(100);
    await runner.drain();
    expect(new Set(seen.slice(10))).toEqual(new Set(['S-2', 'S-3']));
    expect(schemas.every((schema) => schema === 'counting_g1')).toBe(true);
  });
});
