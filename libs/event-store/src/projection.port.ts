import type { PoolClient } from 'pg';
import type { Queryable } from '@fa/platform';
import type { RecordedEvent } from './event-store.port';

/**
 * A follower of the global log with state in PostgreSQL: a read model or a process manager. The projection runner owns transactions and checkpoints:
 * apply() runs inside the runner's transaction, which also writes the checkpoint (exactly-once effect).
 *
 * Each build of a projection (a "generation") lives in its own schema, e.g. fhir_store_g3. Readers query the
 * stable schema named by readSchema (e.g. fhir_store), which holds one view per table in `tables`; a rebuild
 * fills a new generation and then repoints those views in one transaction, so reads never stop.
 */
interface LogFollower<Prepared> {
  /** Kebab-case name used by the CLI and admin API, e.g. "fhir-store". */
  readonly name: string;
  /**
   * Bump when the logic changes. A read model is then rebuilt; a process manager records the new version and
   * applies it from its checkpoint on.
   */
  readonly version: number;
  /** Schema readers query, e.g. "fhir_store". */
  readonly readSchema: string;
  /** Tables created by setup() that readers see as views in readSchema. */
  readonly tables: readonly string[];
  /**
   * The streams this projection reads, by id prefix (e.g. "Patient-"). Events of other streams are skipped inside
   * PostgreSQL, their bodies never sent or parsed; omit to receive every event.
   */
  readonly streamPrefixes?: readonly string[];
  /**
   * For a projection whose streams follow its own state (the analytics views follow the resource types of the
   * views registered so far): the stream prefixes to read now, from the generation in `schema`. Called before
   * each window is read, in place of streamPrefixes; undefined means every stream. A window read ahead may
   * predate a change the batch before it makes: the projection must cover that itself (analytics backfills to
   * the head when a view is registered).
   */
  followedStreams?(db: Queryable, schema: string): Promise<readonly string[] | undefined>;
  /** Creates tables and indexes in `schema` (a fresh, empty generation schema), except deferredIndexSql's. */
  setup(client: PoolClient, schema: string): Promise<void>;
  /**
   * Indexes that apply() never reads (a search index, say). The runner creates them right after setup(), except
   * in a rebuild, which creates them once its bulk load is done: one sort instead of a B-tree insert per row.
   */
  deferredIndexSql?(schema: string): string;
  /**
   * The CPU-bound half of apply, without the database: the runner prepares the next batch while PostgreSQL still
   * writes the one before, and hands the result to apply(). Optional.
   */
  prepare?(events: RecordedEvent[]): Prepared | Promise<Prepared>;
  /**
   * Applies one batch, in global order, to the tables in `schema`, with prepare()'s result when the projection
   * has one. Must ignore event types it does not know.
   */
  apply(client: PoolClient, schema: string, events: RecordedEvent[], prepared?: Prepared): Promise<void>;
}

/** A read model: a pure function of the log, so any generation can be rebuilt from the start of the log. */
export interface ReadModelProjection<Prepared = unknown> extends LogFollower<Prepared> {
  readonly kind: 'read-model';
}

/**
 * A process manager: it follows the log like a projection but decides and appends events of its own. Replaying
 * it would decide again, so it is never rebuilt: its decisions are in the log, replayed by the read models.
 */
export interface ProcessManager<Prepared = unknown> extends LogFollower<Prepared> {
  readonly kind: 'process-manager';
}

export type Projection<Prepared = unknown> = ReadModelProjection<Prepared> | ProcessManager<Prepared>;

export function isRebuildable<P>(projection: Projection<P>): projection is ReadModelProjection<P> {
  return projection.kind === 'read-model';
}

export interface ProjectionStatus {
  name: string;
  version: number;
  activeGeneration: number;
  checkpoint: string;
  /** Events between the checkpoint and the head of the log at the time of the status call, when known. */
  lag?: number;
  rebuild?: {
    generation: number;
    state: 'running' | 'swapped' | 'failed';
    startedAt: string;
    finishedAt?: string;
    position: string;
    eventsProcessed: number;
    eventsPerSecond: number;
    error?: string;
  };
}
