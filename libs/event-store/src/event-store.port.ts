import type { PoolClient } from 'pg';

/**
 * The event store port, shaped after EventStoreDB semantics so that the PostgreSQL adapter (default)
 * and the EventStoreDB adapter satisfy one contract test suite.
 */

/** Optimistic concurrency expectation for an append. A number is the exact revision of the stream's last event. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface EventToAppend<Data = unknown, Metadata = unknown> {
  /** Deterministic ids make retried appends idempotent: an event id already in the stream is not written again. */
  id: string;
  type: string;
  data: Data;
  metadata?: Metadata;
  /** The record time to keep instead of now: only for copying a log between stores (`event-store copy`). */
  recordedAt?: Date;
}

/**
 * Opaque, totally ordered position in the global log. Adapters serialise it as a string; compare it only
 * through the adapter (comparePositions).
 */
export type GlobalPosition = string;

/** Position before the first event of the global log. */
export const START_OF_LOG: GlobalPosition = '';

export interface RecordedEvent<Data = unknown, Metadata = unknown> {
  id: string;
  type: string;
  data: Data;
  metadata: Metadata;
  streamId: string;
  /** 0 for the first event of a stream. */
  streamRevision: number;
  position: GlobalPosition;
  /**
   * The position as two unsigned 64-bit integers (decimal text) for read models that store and sort by it in SQL:
   * their lexicographic order is the log's order, and the second alone identifies the event. Both adapters have
   * such a pair (PostgreSQL: transaction id and global position; EventStoreDB: commit and prepare position).
   */
  logOrder: readonly [string, string];
  recordedAt: Date;
}

export interface AppendRequest {
  streamId: string;
  events: EventToAppend[];
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  streamId: string;
  /** Revision of the stream's last event after the append (the next expected revision). */
  nextExpectedRevision: number;
  /** Events actually written; fewer than requested when some ids were already in the stream. */
  written: number;
}

export interface ReadStreamOptions {
  fromRevision?: number;
  direction?: 'forwards' | 'backwards';
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: return events after this position (default: the start of the log). */
  after?: GlobalPosition;
  maxCount?: number;
  /**
   * Keep only events of streams whose id starts with one of these (e.g. "Patient-"). The others still count
   * towards maxCount and move `lastPosition`, but adapters skip their bodies (a server-side filter).
   */
  streamPrefixes?: readonly string[];
}

/** One window of the global log, in order. */
export interface LogWindow {
  /** The events of the window that pass the stream filter. */
  events: RecordedEvent[];
  /** Position of the last event scanned (filtered out or not): read on from here. `after` when none. */
  lastPosition: GlobalPosition;
  /** Events scanned, filtered out or not: 0 means the reader is at the head. */
  scanned: number;
}

export interface AppendOptions {
  /**
   * The caller's open transaction on the read-model database. A process manager passes the transaction that also
   * writes its state and checkpoint. The PostgreSQL adapter appends inside it (one commit for both); an adapter
   * on another server appends before that transaction commits, and the deterministic event ids make a repeat
   * after a crash write nothing: the same exactly-once effect.
   */
  within?: PoolClient;
}

/**
 * What ingestion, the identity commands, process managers and the projection runner need of an event store.
 * Positions are opaque: callers compare them only with comparePositions. The contract suite
 * (`@fa/event-store/testing`) defines the behaviour; every adapter passes it.
 */
export interface EventStore {
  /** Appends to one stream atomically. Throws WrongExpectedRevisionError on a revision conflict. */
  append(
    streamId: string,
    events: EventToAppend[],
    expectedRevision?: ExpectedRevision,
  ): Promise<AppendResult>;
  /**
   * Appends to many streams in one durable transaction (all or nothing). Ingestion uses it to batch.
   * Throws WrongExpectedRevisionError naming the first stream whose expectation failed.
   */
  appendMany(requests: AppendRequest[], options?: AppendOptions): Promise<AppendResult[]>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Last event of each named stream that exists (used to compare content hashes before appending). */
  readLastEvents(streamIds: string[]): Promise<Map<string, RecordedEvent>>;
  /**
   * The next window of the global log after a position, in the total order every reader sees: an event that
   * commits later never appears before one already read (readers are held back, never skip).
   */
  readAll(options?: ReadAllOptions): Promise<LogWindow>;
  /**
   * Position of the newest committed event (START_OF_LOG when empty). A reader that has reached it has seen
   * everything committed before the call.
   */
  headPosition(): Promise<GlobalPosition>;
  /** Number of events readers can see after a position (a checkpoint's lag). */
  countAfter(position: GlobalPosition): Promise<number>;
  /** Total order on positions: negative, zero or positive like a comparator. */
  comparePositions(a: GlobalPosition, b: GlobalPosition): number;
  /**
   * Resolves when events may have been appended since the call, or after at most `timeoutMs`: a caught-up reader
   * sleeps on it instead of polling. Spurious wake-ups are allowed; a missed append costs at most the timeout.
   */
  waitForAppend(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');

export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no_stream',
  ) {
    super(`Stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}
