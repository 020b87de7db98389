import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '@fa/platform';
import { EventStore, GlobalPosition, START_OF_LOG } from '../event-store.port';
import type { ReadModelProjection } from '../projection.port';
import type { PlannerStatistics } from './planner-statistics';
import { readAhead, readPrepared, type PreparedWindow } from './prepared-window';
import { LOCK_KEY, type ProjectionRegistry, type RebuildState } from './projection-registry';

export class RebuildAlreadyRunningError extends Error {
  override readonly name = 'RebuildAlreadyRunningError';
  constructor(projection: string) {
    super(`A rebuild of ${projection} is already running`);
  }
}

export interface RebuildContext {
  pool: Pool;
  store: EventStore;
  registry: ProjectionRegistry;
  statistics: PlannerStatistics;
  batchSize: number;
  stopped(): boolean;
  logger?: { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

/**
 * Builds a new generation of a read model from the start of the log while reads keep using the current one,
 * then — holding the registry row so no live batch interleaves — applies the last events and repoints the read
 * views in the same transaction, and drops the old generation. One rebuild per projection at a time across
 * processes (an advisory lock); progress is stored on the registry row as it goes.
 */
export async function rebuildGeneration(
  context: RebuildContext,
  projection: ReadModelProjection,
  onProgress?: (state: RebuildState) => void,
): Promise<void> {
  const lockClient = await context.pool.connect();
  try {
    const locked = await lockClient.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS ok`, [
      `rebuild:${projection.name}`,
    ]);
    if (!locked.rows[0].ok) throw new RebuildAlreadyRunningError(projection.name);
    try {
      await rebuildWhileLocked(context, projection, onProgress);
    } finally {
      await lockClient.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [`rebuild:${projection.name}`]);
    }
  } finally {
    lockClient.release();
  }
}

async function rebuildWhileLocked(
  context: RebuildContext,
  projection: ReadModelProjection,
  onProgress?: (state: RebuildState) => void,
): Promise<void> {
  const { registry, store, batchSize } = context;
  const active = await registry.activeGeneration(projection.name);
  await registry.dropAbandonedGenerations(projection, active);
  const generation = await registry.createRebuildGeneration(projection);
  const state: RebuildState = {
    generation,
    state: 'running',
    startedAt: new Date().toISOString(),
    position: START_OF_LOG,
    eventsProcessed: 0,
    eventsPerSecond: 0,
  };
  const started = Date.now();
  const measure = () =>
    (state.eventsPerSecond = Math.round(
      state.eventsProcessed / Math.max(0.001, (Date.now() - started) / 1000),
    ));
  const report = async () => {
    measure();
    await registry.reportRebuild(projection.name, state);
    onProgress?.({ ...state });
  };
  const apply = async (client: PoolClient, window: PreparedWindow) => {
    if (window.events.length > 0) {
      await projection.apply(
        client,
        registry.schemaName(projection, generation),
        window.events,
        window.prepared,
      );
    }
    await registry.saveCheckpoint(client, projection.name, generation, window.lastPosition, window.scanned);
    state.eventsProcessed += window.scanned;
  };
  await report();
  let lastReport = Date.now();
  try {
    let position: GlobalPosition = START_OF_LOG;
    const schema = registry.schemaName(projection, generation);
    const reader = { store, pool: context.pool, projection, schema, maxCount: batchSize };
    let next = readPrepared(reader, position);
    for (;;) {
      if (context.stopped()) throw new Error('runner stopped during rebuild');
      const window = await next;
      if (window.scanned === 0) break;
      next = readAhead(reader, window);
      await inTransaction(context.pool, (client) => apply(client, window));
      position = state.position = window.lastPosition;
      if (Date.now() - lastReport > 500) {
        await report();
        lastReport = Date.now();
      }
    }
    if (projection.deferredIndexSql) {
      await context.pool.query(projection.deferredIndexSql(registry.schemaName(projection, generation)));
    }
    // The new generation answers queries from the swap on: give the planner its statistics first.
    await context.statistics.analyze(projection, generation);
    await inTransaction(context.pool, async (client) => {
      await registry.lockRegistryRow(client, projection.name);
      for (;;) {
        const window = await readPrepared(reader, position);
        if (window.scanned === 0) break;
        await apply(client, window);
        position = window.lastPosition;
      }
      state.state = 'swapped';
      state.position = position;
      state.finishedAt = new Date().toISOString();
      measure();
      await registry.activate(client, projection, generation, state);
    });
    onProgress?.({ ...state });
    await registry
      .dropGeneration(projection, active)
      .catch((error) => context.logger?.error({ err: String(error) }, 'could not drop old generation'));
    context.logger?.info(
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
}
