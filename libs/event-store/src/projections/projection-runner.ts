import type { Pool, PoolClient } from 'pg';
import { GlobalPosition, RecordedEvent, START_OF_LOG } from '../event-store.port';
import type { Projection, ProjectionStatus } from '../projection.port';
import { EVENTS_APPENDED_CHANNEL, type PostgresEventStore } from '../postgres/postgres-event-store';

export const PROJECTION_REGISTRY_SQL = `
CREATE TABLE IF NOT EXISTS projections (
  name text PRIMARY KEY,
  version integer NOT NULL,
  active_generation integer NOT NULL,
  rebuild jsonb
);
CREATE TABLE IF NOT EXISTS checkpoints (
  projection text NOT NULL,
  generation integer NOT NULL,
  position text NOT NULL,
  events_processed bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, generation)
);
`;

export interface ProjectionRunnerOptions {
  batchSize?: number;
  idleDelayMs?: number;
  logger?: { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

type RebuildState = NonNullable<ProjectionStatus['rebuild']>;

interface PreparedWindow {
  events: RecordedEvent[];
  lastPosition: GlobalPosition;
  scanned: number;
  prepared: unknown;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Stable 64-bit advisory lock key for a name (hashtextextended in SQL). */
const LOCK_KEY = `hashtextextended($1, 7431)`;

export class RebuildAlreadyRunningError extends Error {
  override readonly name = 'RebuildAlreadyRunningError';
  constructor(projection: string) {
    super(`A rebuild of ${projection} is already running`);
  }
}

/**
 * Feeds projections from the global log. Each batch is applied and checkpointed in one transaction, after
 * checking under a row lock that the stored checkpoint is where this runner thinks it is — so several processes
 * (service and CLI) can run the same projection and each event still takes effect exactly once.
 */
export class ProjectionRunner {
  private readonly batchSize: number;
  private readonly idleDelayMs: number;
  private readonly loops = new Map<string, Promise<void>>();
  private readonly rebuilds = new Map<string, Promise<ProjectionStatus>>();
  /** Events applied per projection since its tables' planner statistics were last refreshed. */
  private readonly growth = new Map<string, { since: number; threshold: number }>();
  private stopped = false;
  /** Connection LISTENing for appends; while it is up, idle loops sleep until woken instead of polling. */
  private listener?: PoolClient;
  private listenerRetryAt = 0;
  private wakeWaiters: (() => void)[] = [];
  /** Per projection, the window after its last applied one, read and prepared while that one was written. */
  private readonly ahead = new Map<string, { after: GlobalPosition; window: Promise<PreparedWindow> }>();

  constructor(
    private readonly pool: Pool,
    private readonly store: PostgresEventStore,
    private readonly projections: readonly Projection[],
    private readonly options: ProjectionRunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.idleDelayMs = options.idleDelayMs ?? 50;
  }

  projection(name: string): Projection {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection)
      throw new UnknownProjectionError(
        name,
        this.projections.map((p) => p.name),
      );
    return projection;
  }

  /** Creates registry tables and first generations; a projection whose code version changed is rebuilt. */
  async initialize(): Promise<void> {
    await this.withClient(async (client) => {
      await client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`, ['projection-registry']);
      try {
        await client.query(PROJECTION_REGISTRY_SQL);
        for (const projection of this.projections) {
          const existing = await client.query('SELECT 1 FROM projections WHERE name = $1', [projection.name]);
          if (existing.rowCount === 0) await this.createFirstGeneration(client, projection);
        }
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, ['projection-registry']);
      }
    });
  }

  /** Starts the live loops (and rebuilds for projections whose code version changed). */
  async start(): Promise<void> {
    await this.initialize();
    this.stopped = false;
    for (const projection of this.projections) {
      this.loops.set(projection.name, this.liveLoop(projection));
      const stored = await this.pool.query<{ version: number }>(
        'SELECT version FROM projections WHERE name = $1',
        [projection.name],
      );
      if (stored.rows[0].version !== projection.version) {
        this.options.logger?.info(
          { projection: projection.name, from: stored.rows[0].version, to: projection.version },
          'projection version changed: rebuilding',
        );
        this.rebuild(projection.name).catch(() => undefined);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeAll();
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      await listener.query(`UNLISTEN ${EVENTS_APPENDED_CHANNEL}`).catch(() => undefined);
      listener.release();
    }
    await Promise.allSettled([...this.loops.values(), ...this.rebuilds.values()]);
    this.loops.clear();
  }

  /** Applies everything committed so far to every projection's active generation, then returns. */
  async drain(timeoutMs = 60 * 60_000): Promise<void> {
    await this.initialize();
    await this.waitForCatchUp(timeoutMs);
  }

  /**
   * Waits until every projection's active generation has applied every event committed before this call, and
   * every event those projections appended meanwhile (a process manager's decisions feed later projections).
   */
  async waitForCatchUp(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // A few rounds cover decisions feeding later projections; ingestion still running is not waited for forever.
    for (let head = await this.store.lastCommittedPosition(), round = 0; round < 4; round++) {
      // Side by side: each projection writes on its own connection, so PostgreSQL works on them in parallel.
      await Promise.all(
        this.projections.map(async (projection) => {
          for (;;) {
            const { position } = await this.activeCheckpoint(projection.name);
            if (this.store.comparePositions(position, head) >= 0) return;
            if (Date.now() > deadline)
              throw new Error(`Projection ${projection.name} did not catch up in ${timeoutMs} ms`);
            // Without a live loop here, apply batches ourselves; pause when another writer holds the snapshot back.
            if (this.loops.has(projection.name) || (await this.applyNextBatch(projection)) === 0)
              await sleep(10);
          }
        }),
      );
      const after = await this.store.lastCommittedPosition();
      if (this.store.comparePositions(after, head) <= 0) return;
      head = after;
    }
  }

  async status(): Promise<ProjectionStatus[]> {
    const rows = await this.pool.query<{
      name: string;
      version: number;
      active_generation: number;
      rebuild: RebuildState | null;
      position: string;
    }>(
      `SELECT p.name, p.version, p.active_generation, p.rebuild, c.position
         FROM projections p JOIN checkpoints c ON c.projection = p.name AND c.generation = p.active_generation
        ORDER BY p.name`,
    );
    return Promise.all(
      rows.rows.map(async (row) => ({
        name: row.name,
        version: row.version,
        activeGeneration: row.active_generation,
        checkpoint: row.position,
        lag: await this.store.countAfter(row.position),
        ...(row.rebuild ? { rebuild: row.rebuild } : {}),
      })),
    );
  }

  /**
   * Builds a new generation from the start of the log while reads keep using the current one, then — holding
   * the registry row so no live batch interleaves — applies the last events and repoints the read views in the
   * same transaction. Progress is stored on the registry row as it goes.
   */
  rebuild(name: string, onProgress?: (state: RebuildState) => void): Promise<ProjectionStatus> {
    const projection = this.projection(name);
    if (this.rebuilds.has(name)) return Promise.reject(new RebuildAlreadyRunningError(name));
    const running = this.runRebuild(projection, onProgress).finally(() => this.rebuilds.delete(name));
    this.rebuilds.set(name, running);
    return running;
  }

  private async runRebuild(
    projection: Projection,
    onProgress?: (state: RebuildState) => void,
  ): Promise<ProjectionStatus> {
    await this.initialize();
    const lockClient = await this.pool.connect();
    try {
      const locked = await lockClient.query<{ ok: boolean }>(
        `SELECT pg_try_advisory_lock(${LOCK_KEY}) AS ok`,
        [`rebuild:${projection.name}`],
      );
      if (!locked.rows[0].ok) throw new RebuildAlreadyRunningError(projection.name);
      try {
        return await this.rebuildWhileLocked(projection, onProgress);
      } finally {
        await lockClient.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [`rebuild:${projection.name}`]);
      }
    } finally {
      lockClient.release();
    }
  }

  private async rebuildWhileLocked(
    projection: Projection,
    onProgress?: (state: RebuildState) => void,
  ): Promise<ProjectionStatus> {
    const { active } = await this.registryRow(projection.name);
    await this.dropAbandonedGenerations(projection, active);
    const generation = await this.withClient(async (client) => {
      const next = await client.query<{ next: number }>(
        'SELECT coalesce(max(generation), 0) + 1 AS next FROM checkpoints WHERE projection = $1',
        [projection.name],
      );
      const g = next.rows[0].next;
      await this.inTransaction(client, async () => {
        await this.createGeneration(client, projection, g, { deferIndexes: true });
        await client.query('INSERT INTO checkpoints (projection, generation, position) VALUES ($1, $2, $3)', [
          projection.name,
          g,
          START_OF_LOG,
        ]);
      });
      return g;
    });
    const state: RebuildState = {
      generation,
      state: 'running',
      startedAt: new Date().toISOString(),
      position: START_OF_LOG,
      eventsProcessed: 0,
      eventsPerSecond: 0,
    };
    const started = Date.now();
    const report = async () => {
      state.eventsPerSecond = Math.round(
        state.eventsProcessed / Math.max(0.001, (Date.now() - started) / 1000),
      );
      await this.pool.query('UPDATE projections SET rebuild = $2 WHERE name = $1', [projection.name, state]);
      onProgress?.({ ...state });
    };
    await report();
    let lastReport = Date.now();
    try {
      let position: GlobalPosition = START_OF_LOG;
      let next = this.readPrepared(projection, position);
      for (;;) {
        if (this.stopped) throw new Error('runner stopped during rebuild');
        const window = await next;
        if (window.scanned === 0) break;
        next = this.readAhead(projection, window);
        await this.withClient((client) =>
          this.inTransaction(client, async () => {
            await this.applyWindow(client, projection, generation, window);
            position = window.lastPosition;
            await this.saveCheckpoint(client, projection.name, generation, position, window.scanned);
          }),
        );
        state.position = position;
        state.eventsProcessed += window.scanned;
        if (Date.now() - lastReport > 500) {
          await report();
          lastReport = Date.now();
        }
      }
      if (projection.deferredIndexSql) {
        await this.pool.query(projection.deferredIndexSql(this.schemaName(projection, generation)));
      }
      // The new generation answers queries from the swap on: give the planner its statistics first.
      await this.analyze(projection, generation);
      await this.withClient((client) =>
        this.inTransaction(client, async () => {
          await client.query('SELECT 1 FROM projections WHERE name = $1 FOR UPDATE', [projection.name]);
          for (;;) {
            const window = await this.readPrepared(projection, position);
            if (window.scanned === 0) break;
            await this.applyWindow(client, projection, generation, window);
            position = window.lastPosition;
            state.eventsProcessed += window.scanned;
            await this.saveCheckpoint(client, projection.name, generation, position, window.scanned);
          }
          await this.pointViewsAt(client, projection, generation);
          state.state = 'swapped';
          state.position = position;
          state.finishedAt = new Date().toISOString();
          state.eventsPerSecond = Math.round(
            state.eventsProcessed / Math.max(0.001, (Date.now() - started) / 1000),
          );
          await client.query(
            'UPDATE projections SET active_generation = $2, version = $3, rebuild = $4 WHERE name = $1',
            [projection.name, generation, projection.version, state],
          );
        }),
      );
      onProgress?.({ ...state });
      await this.pool
        .query(`DROP SCHEMA IF EXISTS ${this.schemaName(projection, active)} CASCADE`)
        .catch((error) =>
          this.options.logger?.error({ err: String(error) }, 'could not drop old generation'),
        );
      this.options.logger?.info(
        {
          projection: projection.name,
          generation,
          events: state.eventsProcessed,
          eventsPerSecond: state.eventsPerSecond,
        },
        'projection rebuilt and swapped',
      );
    } catch (error) {
      state.state = 'failed';
      state.error = error instanceof Error ? error.message : String(error);
      state.finishedAt = new Date().toISOString();
      await report().catch(() => undefined);
      throw error;
    }
    const statuses = await this.status();
    return statuses.find((s) => s.name === projection.name)!;
  }

  private async liveLoop(projection: Projection): Promise<void> {
    while (!this.stopped) {
      try {
        const applied = await this.applyNextBatch(projection);
        if (applied === 0) await this.idle();
      } catch (error) {
        this.options.logger?.error(
          {
            projection: projection.name,
            err: error instanceof Error ? error.name : 'unknown',
            code: pgCode(error),
          },
          'projection batch failed; retrying',
        );
        await sleep(1000);
      }
    }
  }

  /**
   * Waits for the next append notification, or a fallback delay: a notified commit can still be invisible
   * behind an older open transaction, and notifications stop while the database connection is down.
   */
  private async idle(): Promise<void> {
    // Never waits on the database here: while it is unreachable the loop keeps polling.
    void this.ensureListener();
    const fallback = this.listener ? Math.max(this.idleDelayMs, 250) : this.idleDelayMs;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, fallback);
      this.wakeWaiters.push(done);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private wakeAll(): void {
    const waiters = this.wakeWaiters;
    this.wakeWaiters = [];
    for (const wake of waiters) wake();
  }

  private async ensureListener(): Promise<void> {
    if (this.listener || this.stopped || Date.now() < this.listenerRetryAt) return;
    this.listenerRetryAt = Date.now() + 5_000;
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const listener = client;
      listener.on('notification', () => this.wakeAll());
      listener.on('error', () => {
        // Back to polling until a new connection can listen again.
        if (this.listener !== listener) return;
        this.listener = undefined;
        listener.release(true);
      });
      await listener.query(`LISTEN ${EVENTS_APPENDED_CHANNEL}`);
      if (this.stopped) {
        listener.release();
        return;
      }
      this.listener = listener;
    } catch {
      if (client && this.listener !== client) client.release(true);
    }
  }

  /**
   * One batch into the active generation. Returns how many events were applied (0 when caught up or when another
   * process moved the checkpoint first, in which case the next call starts from the stored checkpoint).
   */
  private async applyNextBatch(projection: Projection): Promise<number> {
    const { generation, position } = await this.activeCheckpoint(projection.name);
    const ahead = this.ahead.get(projection.name);
    this.ahead.delete(projection.name);
    // A window read ahead is used only when it starts at the checkpoint and is not empty: an empty one may
    // predate appends whose notification has already been consumed.
    const reused = ahead && ahead.after === position ? await ahead.window.catch(() => undefined) : undefined;
    const window = reused && reused.scanned > 0 ? reused : await this.readPrepared(projection, position);
    if (window.scanned === 0) return 0;
    this.ahead.set(projection.name, {
      after: window.lastPosition,
      window: this.readAhead(projection, window),
    });
    const applied = await this.withClient((client) =>
      this.inTransaction(client, async () => {
        const current = await client.query<{ active_generation: number; position: string }>(
          `SELECT p.active_generation, c.position
             FROM projections p JOIN checkpoints c ON c.projection = p.name AND c.generation = p.active_generation
            WHERE p.name = $1
              FOR UPDATE OF c FOR SHARE OF p`,
          [projection.name],
        );
        const row = current.rows[0];
        if (row.active_generation !== generation || row.position !== position) return 0;
        await this.applyWindow(client, projection, generation, window);
        await this.saveCheckpoint(client, projection.name, generation, window.lastPosition, window.scanned);
        return window.scanned;
      }),
    );
    if (applied > 0) await this.refreshStatisticsAsTablesGrow(projection, generation, applied);
    return applied;
  }

  /**
   * A bulk load leaves the planner believing the tables are nearly empty until autovacuum gets to them, and it
   * then picks nested loops that take seconds instead of milliseconds (seen on synthea-79 searches). ANALYZE
   * after 5,000 events, then each time the count since doubles: a handful of runs for any load size.
   */
  private async refreshStatisticsAsTablesGrow(projection: Projection, generation: number, applied: number) {
    const growth = this.growth.get(projection.name) ?? { since: 0, threshold: 5_000 };
    growth.since += applied;
    if (growth.since >= growth.threshold) {
      await this.analyze(projection, generation);
      growth.since = 0;
      growth.threshold *= 2;
    }
    this.growth.set(projection.name, growth);
  }

  private async analyze(projection: Projection, generation: number): Promise<void> {
    const schema = this.schemaName(projection, generation);
    await this.pool.query(`ANALYZE ${projection.tables.map((table) => `${schema}.${table}`).join(', ')}`);
  }

  /**
   * The next window of the log after `after`, holding only the events of the projection's streams, with the
   * projection's CPU-bound work on it done.
   */
  private async readPrepared(projection: Projection, after: GlobalPosition): Promise<PreparedWindow> {
    const window = await this.store.readWindow({
      after,
      maxCount: this.batchSize,
      streamPrefixes: projection.streamPrefixes,
    });
    const prepared =
      projection.prepare && window.events.length > 0 ? await projection.prepare(window.events) : undefined;
    return { ...window, prepared };
  }

  /**
   * Reads and prepares the window after `current` while `current` is being written: this process works on the
   * next batch while PostgreSQL works on this one, so the two use both cores.
   */
  private readAhead(projection: Projection, current: PreparedWindow): Promise<PreparedWindow> {
    const next = this.readPrepared(projection, current.lastPosition);
    next.catch(() => undefined);
    return next;
  }

  private async applyWindow(
    client: PoolClient,
    projection: Projection,
    generation: number,
    window: PreparedWindow,
  ): Promise<void> {
    if (window.events.length === 0) return;
    await projection.apply(client, this.schemaName(projection, generation), window.events, window.prepared);
  }

  private async activeCheckpoint(name: string): Promise<{ generation: number; position: GlobalPosition }> {
    const result = await this.pool.query<{ active_generation: number; position: string }>(
      `SELECT p.active_generation, c.position
         FROM projections p JOIN checkpoints c ON c.projection = p.name AND c.generation = p.active_generation
        WHERE p.name = $1`,
      [name],
    );
    return { generation: result.rows[0].active_generation, position: result.rows[0].position };
  }

  private async registryRow(name: string): Promise<{ active: number }> {
    const result = await this.pool.query<{ active_generation: number }>(
      'SELECT active_generation FROM projections WHERE name = $1',
      [name],
    );
    return { active: result.rows[0].active_generation };
  }

  private async saveCheckpoint(
    client: PoolClient,
    name: string,
    generation: number,
    position: string,
    count: number,
  ) {
    await client.query(
      `UPDATE checkpoints SET position = $3, events_processed = events_processed + $4, updated_at = now()
        WHERE projection = $1 AND generation = $2`,
      [name, generation, position, count],
    );
  }

  private async createFirstGeneration(client: PoolClient, projection: Projection): Promise<void> {
    await this.inTransaction(client, async () => {
      await this.createGeneration(client, projection, 1);
      await this.pointViewsAt(client, projection, 1);
      await client.query('INSERT INTO projections (name, version, active_generation) VALUES ($1, $2, 1)', [
        projection.name,
        projection.version,
      ]);
      await client.query('INSERT INTO checkpoints (projection, generation, position) VALUES ($1, 1, $2)', [
        projection.name,
        START_OF_LOG,
      ]);
    });
  }

  private async createGeneration(
    client: PoolClient,
    projection: Projection,
    generation: number,
    options: { deferIndexes?: boolean } = {},
  ): Promise<void> {
    const schema = this.schemaName(projection, generation);
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    await projection.setup(client, schema);
    if (projection.deferredIndexSql && !options.deferIndexes) {
      await client.query(projection.deferredIndexSql(schema));
    }
  }

  /** Replaces the read views in one transaction: readers see either the old or the new generation, never neither. */
  private async pointViewsAt(client: PoolClient, projection: Projection, generation: number): Promise<void> {
    const schema = this.schemaName(projection, generation);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${projection.readSchema}`);
    for (const table of projection.tables) {
      await client.query(`DROP VIEW IF EXISTS ${projection.readSchema}.${table}`);
      await client.query(`CREATE VIEW ${projection.readSchema}.${table} AS SELECT * FROM ${schema}.${table}`);
    }
  }

  /** Generations left by a rebuild that crashed before its swap. */
  private async dropAbandonedGenerations(projection: Projection, active: number): Promise<void> {
    const schemas = await this.pool.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 || '\\_g%'`,
      [projection.readSchema],
    );
    for (const { nspname } of schemas.rows) {
      if (nspname !== this.schemaName(projection, active) && /_g\d+$/.test(nspname)) {
        await this.pool.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
      }
    }
  }

  private schemaName(projection: Projection, generation: number): string {
    if (!/^[a-z_][a-z0-9_]*$/.test(projection.readSchema))
      throw new Error(`Bad schema name ${projection.readSchema}`);
    return `${projection.readSchema}_g${generation}`;
  }

  private async withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }

  private async inTransaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
    await client.query('BEGIN');
    try {
      const result = await fn();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

export class UnknownProjectionError extends Error {
  override readonly name = 'UnknownProjectionError';
  constructor(name: string, known: string[]) {
    super(`Unknown projection ${JSON.stringify(name)}; known: ${known.join(', ')}`);
  }
}

function pgCode(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}
