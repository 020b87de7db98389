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
}

/**
 * Opaque, totally ordered position in the global log. Adapters serialise it as a string; compare it only
 * through the adapter. The PostgreSQL adapter uses "<transaction id>:<global position>".
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
  /** Exclusive: return events after this position. */
  after?: GlobalPosition;
  maxCount?: number;
}

export interface SubscribeToAllOptions {
  /** Exclusive start position, typically a projection's checkpoint. */
  after?: GlobalPosition;
  batchSize?: number;
  /** How long to wait before polling again once caught up. */
  idleDelayMs?: number;
  /** Called with each batch in global order; the next batch is read only after this resolves. */
  onEvents(events: RecordedEvent[]): Promise<void>;
  onError?(error: unknown): void;
}

export interface Subscription {
  /** Resolves once the subscription has stopped and its in-flight batch has been handled. */
  stop(): Promise<void>;
}

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
  appendMany(requests: AppendRequest[]): Promise<AppendResult[]>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Last event of each named stream that exists (used to compare content hashes before appending). */
  readLastEvents(streamIds: string[]): Promise<Map<string, RecordedEvent>>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Position of the newest event that readers may see now; START_OF_LOG when empty. */
  headPosition(): Promise<GlobalPosition>;
  /** Total order on positions: negative, zero or positive like a comparator. */
  comparePositions(a: GlobalPosition, b: GlobalPosition): number;
  subscribeToAll(options: SubscribeToAllOptions): Subscription;
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
