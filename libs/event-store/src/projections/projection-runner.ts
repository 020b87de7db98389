import type { Pool } from 'pg';
import { inTransaction } from '@fa/platform';
import { EventStore, GlobalPosition } from '../event-store.port';
import { isRebuildable, type Projection, type ProjectionStatus } from '../projection.port';
import { PlannerStatistics } from './planner-statistics';
import { readAhead, readPrepared, type PreparedWindow, type WindowReader } from './prepared-window';
import { ProjectionRegistry, type RebuildState } from './projection-registry';
import { RebuildAlreadyRunningError, rebuildGeneration } from './rebuild-generation';

export { PROJECTION_REGISTRY_SQL } from './projection-registry';
export { RebuildAlreadyRunningError } from './rebuild-generation';

export interface ProjectionRunnerOptions {
  batchSize?: number;
  /** Longest sleep of an idle loop between looks at the log (an append wakes it at once). */
  idleDelayMs?: number;
  logger?: { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Feeds projections from the global log. Each batch is applied and checkpointed in one transaction, after
 * checking under a row lock that the stored checkpoint is where this runner thinks it is — so several processes
 * (service and CLI) can run the same projection and each event still takes effect exactly once.
 *
 * Bookkeeping (generations, checkpoints) is in ProjectionRegistry, rebuilds in rebuild-generation.ts, read-ahead
 * in prepared-window.ts, planner statistics in planner-statistics.ts; this file holds the loops.
 */
export class ProjectionRunner {
  private readonly batchSize: number;
  private readonly idleDelayMs: number;
  private readonly registry: ProjectionRegistry;
  private readonly statistics: PlannerStatistics;
  private readonly loops = new Map<string, Promise<void>>();
  private readonly rebuilds = new Map<string, Promise<ProjectionStatus>>();
  private stopped = false;
  /** Per projection, the window after its last applied one, read and prepared while that one was written. */
  private readonly ahead = new Map<string, { after: GlobalPosition; window: Promise<PreparedWindow> }>();

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly projections: readonly Projection[],
    private readonly options: ProjectionRunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.idleDelayMs = options.idleDelayMs ?? 250;
    this.registry = new ProjectionRegistry(pool);
    this.statistics = new PlannerStatistics(pool, this.registry);
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

  /** Creates registry tables and first generations. */
  initialize(): Promise<void> {
    return this.registry.initialize(this.projections);
  }

  /**
   * Starts the live loops. A read model whose code version changed is rebuilt; a process manager's new version
   * is recorded and applies from its checkpoint on.
   */
  async start(): Promise<void> {
    await this.initialize();
    this.stopped = false;
    for (const projection of this.projections) {
      this.loops.set(projection.name, this.liveLoop(projection));
      const stored = await this.registry.storedVersion(projection.name);
      if (stored === projection.version) continue;
      const change = { projection: projection.name, from: stored, to: projection.version };
      if (isRebuildable(projection)) {
        this.options.logger?.info(change, 'projection version changed: rebuilding');
        this.rebuild(projection.name).catch(() => undefined);
      } else {
        this.options.logger?.info(change, 'process manager version changed: applies from its checkpoint on');
        await this.pool.query('UPDATE projections SET version = $2 WHERE name = $1', [
          projection.name,
          projection.version,
        ]);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
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
    for (let head = await this.store.headPosition(), round = 0; round < 4; round++) {
      // Side by side: each projection writes on its own connection, so PostgreSQL works on them in parallel.
      await Promise.all(
        this.projections.map(async (projection) => {
          for (;;) {
            const { position } = await this.registry.activeCheckpoint(projection.name);
            if (this.store.comparePositions(position, head) >= 0) return;
            if (Date.now() > deadline)
              throw new Error(`Projection ${projection.name} did not catch up in ${timeoutMs} ms`);
            // Without a live loop here, apply batches ourselves; pause when another writer holds the snapshot back.
            if (this.loops.has(projection.name) || (await this.applyNextBatch(projection)) === 0)
              await sleep(10);
          }
        }),
      );
      const after = await this.store.headPosition();
      if (this.store.comparePositions(after, head) <= 0) return;
      head = after;
    }
  }

  /** The log position a projection's active generation has applied up to. */
  async checkpoint(name: string): Promise<GlobalPosition> {
    return (await this.registry.activeCheckpoint(name)).position;
  }

  async status(): Promise<ProjectionStatus[]> {
    const rows = await this.registry.statusRows();
    return Promise.all(
      rows.map(async (row) => ({ ...row, lag: await this.store.countAfter(row.checkpoint) })),
    );
  }

  /**
   * Rebuilds a read model into a new generation and swaps it in (rebuild-generation.ts). A process manager is
   * refused with NotRebuildableError: replaying it would decide again.
   */
  rebuild(name: string, onProgress?: (state: RebuildState) => void): Promise<ProjectionStatus> {
    const projection = this.projection(name);
    if (!isRebuildable(projection)) return Promise.reject(new NotRebuildableError(projection.name));
    if (this.rebuilds.has(name)) return Promise.reject(new RebuildAlreadyRunningError(name));
    const context = {
      pool: this.pool,
      store: this.store,
      registry: this.registry,
      statistics: this.statistics,
      batchSize: this.batchSize,
      stopped: () => this.stopped,
      logger: this.options.logger,
    };
    const running = (async () => {
      await this.initialize();
      await rebuildGeneration(context, projection, onProgress);
      return (await this.status()).find((s) => s.name === name)!;
    })().finally(() => this.rebuilds.delete(name));
    this.rebuilds.set(name, running);
    return running;
  }

  private async liveLoop(projection: Projection): Promise<void> {
    while (!this.stopped) {
      try {
        const applied = await this.applyNextBatch(projection);
        // Sleeps until an append is announced (or the fallback delay): never polls an idle log hard.
        if (applied === 0 && !this.stopped) await this.store.waitForAppend(this.idleDelayMs);
      } catch (error) {
        this.options.logger?.error(
          {
            projection: projection.name,
            err: error instanceof Error ? error.name : 'unknown',
            code: (error as { code?: string }).code,
          },
          'projection batch failed; retrying',
        );
        await sleep(1000);
      }
    }
  }

  /**
   * One batch into the active generation. Returns how many events were applied (0 when caught up or when another
   * process moved the checkpoint first, in which case the next call starts from the stored checkpoint).
   */
  private async applyNextBatch(projection: Projection): Promise<number> {
    const { generation, position } = await this.registry.activeCheckpoint(projection.name);
    const ahead = this.ahead.get(projection.name);
    this.ahead.delete(projection.name);
    // A window read ahead is used only when it starts at the checkpoint and is not empty: an empty one may
    // predate appends whose notification has already been consumed.
    const reused = ahead && ahead.after === position ? await ahead.window.catch(() => undefined) : undefined;
    const reader = this.readerFor(projection, generation);
    const window = reused && reused.scanned > 0 ? reused : await readPrepared(reader, position);
    if (window.scanned === 0) return 0;
    this.ahead.set(projection.name, {
      after: window.lastPosition,
      window: readAhead(reader, window),
    });
    const applied = await inTransaction(this.pool, async (client) => {
      const current = await this.registry.lockActiveCheckpoint(client, projection.name);
      if (current.generation !== generation || current.position !== position) return 0;
      if (window.events.length > 0) {
        const schema = this.registry.schemaName(projection, generation);
        await projection.apply(client, schema, window.events, window.prepared);
      }
      await this.registry.saveCheckpoint(
        client,
        projection.name,
        generation,
        window.lastPosition,
        window.scanned,
      );
      return window.scanned;
    });
    if (applied > 0) await this.statistics.applied(projection, generation, applied);
    return applied;
  }

  private readerFor(projection: Projection, generation: number): WindowReader {
    const schema = this.registry.schemaName(projection, generation);
    return { store: this.store, pool: this.pool, projection, schema, maxCount: this.batchSize };
  }
}

export class UnknownProjectionError extends Error {
  override readonly name = 'UnknownProjectionError';
  constructor(name: string, known: string[]) {
    super(`Unknown projection ${JSON.stringify(name)}; known: ${known.join(', ')}`);
  }
}

export class NotRebuildableError extends Error {
  override readonly name = 'NotRebuildableError';
  constructor(name: string) {
    super(
      `${name} is a process manager: replaying it would decide again, so it is never rebuilt (its decisions are in the log; rebuild the read models that record them)`,
    );
  }
}
