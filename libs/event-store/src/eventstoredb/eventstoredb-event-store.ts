import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  binaryEvent,
  ReadPosition,
  ResolvedEvent,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import {
  AppendOptions,
  AppendRequest,
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  GlobalPosition,
  LogWindow,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  START_OF_LOG,
  WrongExpectedRevisionError,
} from '../event-store.port';
import { AppendWaker } from './append-waker';
import {
  comparePositions,
  decodeData,
  encodeData,
  formatPosition,
  isSystemEvent,
  logOrderOf,
  parsePosition,
  splitRecordedAt,
  streamPrefixRegex,
  toEventStoreDbRevision,
  withRecordedAt,
} from './eventstoredb-mapping';
import { assertDistinctStreams, expectationHolds } from '../append-requests';

/** How many of a stream's newest events beyond the batch's own size are searched for ids already written. */
const DEDUPLICATION_MARGIN = 32;

interface StreamState {
  revision: number;
  ids: Set<string>;
}

/**
 * The EventStore port on EventStoreDB (gRPC client `@eventstore/db-client`). What differs from PostgreSQL, and
 * why callers keep their guarantees, is in the README ("Event store on EventStoreDB"):
 * - appendMany checks every expectation before writing, then appends stream by stream: each stream is atomic,
 *   the batch is not, and a retry with the same event ids writes exactly what is missing;
 * - an event id among a stream's newest events is not written again (the server adds its own idempotence);
 * - readAll reads a window of $all and filters stream prefixes in the adapter, so `scanned` and `lastPosition`
 *   mean what they mean on PostgreSQL; EventStoreDB's own events ($-streams, $-types) are never part of it.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly waker: AppendWaker;

  constructor(private readonly client: EventStoreDBClient) {
    this.waker = new AppendWaker(client);
  }

  static connect(url: string): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(url));
  }

  append(
    streamId: string,
    events: EventToAppend[],
    expectedRevision: ExpectedRevision = 'any',
  ): Promise<AppendResult> {
    return this.appendMany([{ streamId, events, expectedRevision }]).then((results) => results[0]);
  }

  /**
   * `within` (the caller's PostgreSQL transaction) is not joined: the events are appended before the caller
   * commits, and their deterministic ids make the repeat after a crash write nothing.
   */
  async appendMany(requests: AppendRequest[], _options: AppendOptions = {}): Promise<AppendResult[]> {
    if (requests.length === 0) return [];
    assertDistinctStreams(requests);
    const states = await Promise.all(
      requests.map((r) => this.streamState(r.streamId, r.events.length + DEDUPLICATION_MARGIN)),
    );
    const plans = requests.map((request, i) => {
      const state = states[i];
      const fresh = request.events.filter((e) => !state.ids.has(e.id.toLowerCase()));
      return { request, state, fresh };
    });
    // Every expectation is checked before anything is written: a conflict the batch can see writes nothing.
    for (const { request, state, fresh } of plans) {
      if (fresh.length === 0 && request.events.length > 0) continue;
      const expected = request.expectedRevision ?? 'any';
      if (!expectationHolds(expected, state.revision))
        throw new WrongExpectedRevisionError(
          request.streamId,
          expected,
          state.revision === -1 ? 'no_stream' : state.revision,
        );
    }
    const results: AppendResult[] = [];
    for (const { request, state, fresh } of plans) {
      if (fresh.length === 0) {
        results.push({ streamId: request.streamId, nextExpectedRevision: state.revision, written: 0 });
        continue;
      }
      const expected = request.expectedRevision ?? 'any';
      try {
        const result = await this.client.appendToStream(
          request.streamId,
          fresh.map((e) =>
            binaryEvent({
              id: e.id,
              type: e.type,
              data: encodeData(e.data),
              metadata: withRecordedAt(e.metadata, e.recordedAt) as never,
            }),
          ),
          { expectedRevision: toEventStoreDbRevision(expected) },
        );
        results.push({
          streamId: request.streamId,
          nextExpectedRevision: Number(result.nextExpectedRevision),
          written: fresh.length,
        });
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) {
          const actual = error.actualVersion;
          throw new WrongExpectedRevisionError(
            request.streamId,
            expected,
            typeof actual === 'bigint' ? Number(actual) : 'no_stream',
          );
        }
        throw error;
      }
    }
    return results;
  }

  /** The stream's revision and the ids of its newest events (-1 and none when it does not exist). */
  private async streamState(streamId: string, newest: number): Promise<StreamState> {
    const events = await this.readStream(streamId, { direction: 'backwards', maxCount: newest });
    return {
      revision: events.length > 0 ? events[0].streamRevision : -1,
      ids: new Set(events.map((e) => e.id.toLowerCase())),
    };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const fromRevision =
      options.fromRevision !== undefined ? BigInt(options.fromRevision) : backwards ? END : START;
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision,
        maxCount: options.maxCount ?? Number.MAX_SAFE_INTEGER,
      })) {
        const event = toRecordedEvent(resolved);
        if (event) events.push(event);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  async readLastEvents(streamIds: string[]): Promise<Map<string, RecordedEvent>> {
    const last = await Promise.all(
      streamIds.map((id) => this.readStream(id, { direction: 'backwards', maxCount: 1 })),
    );
    return new Map(
      last.filter((events) => events.length > 0).map((events) => [events[0].streamId, events[0]]),
    );
  }

  /**
   * The next `maxCount` events of $all after a position. Stream prefixes are matched here rather than by the
   * server: EventStoreDB's filter counts only matching events towards a read's count and says how far it
   * searched only through subscription checkpoints, so it could not tell how far the window reached.
   */
  async readAll(options: ReadAllOptions = {}): Promise<LogWindow> {
    const after = options.after ?? START_OF_LOG;
    const maxCount = options.maxCount ?? 1000;
    const wanted = options.streamPrefixes ? new RegExp(streamPrefixRegex(options.streamPrefixes)) : undefined;
    const events: RecordedEvent[] = [];
    let lastPosition = after;
    let scanned = 0;
    await this.scanAll(after, FORWARDS, maxCount, (resolved, position) => {
      lastPosition = position;
      scanned++;
      if (wanted && !wanted.test(resolved.event!.streamId)) return true;
      const event = toRecordedEvent(resolved);
      if (event) events.push(event);
      return scanned < maxCount;
    });
    return { events, lastPosition, scanned };
  }

  async headPosition(): Promise<GlobalPosition> {
    let head = START_OF_LOG;
    await this.scanAll(START_OF_LOG, BACKWARDS, 32, (_resolved, position) => {
      head = position;
      return false;
    });
    return head;
  }

  /** Counts by reading: exact, and it costs a read of the events counted (a checkpoint's lag is small). */
  async countAfter(position: GlobalPosition): Promise<number> {
    let count = 0;
    await this.scanAll(position, FORWARDS, 4096, () => {
      count++;
      return true;
    });
    return count;
  }

  comparePositions(a: GlobalPosition, b: GlobalPosition): number {
    return comparePositions(a, b);
  }

  waitForAppend(timeoutMs: number): Promise<void> {
    return this.waker.wait(timeoutMs);
  }

  async close(): Promise<void> {
    await this.waker.close();
    await this.client.dispose();
  }

  /**
   * Visits the events of our log (system events skipped) after `after` (forwards) or from the end (backwards),
   * page by page, until `visit` returns false or the log ends. A read from a position may or may not include
   * the event at it, so events not beyond the cursor are dropped.
   */
  private async scanAll(
    after: GlobalPosition,
    direction: typeof FORWARDS | typeof BACKWARDS,
    pageSize: number,
    visit: (resolved: ResolvedEvent, position: GlobalPosition) => boolean,
  ): Promise<void> {
    let cursor = after;
    for (;;) {
      const fromPosition: ReadPosition =
        cursor === START_OF_LOG ? (direction === FORWARDS ? START : END) : parsePosition(cursor);
      const request = pageSize + 1;
      let received = 0;
      let go = true;
      for await (const resolved of this.client.readAll({ fromPosition, direction, maxCount: request })) {
        received++;
        const recorded = resolved.event;
        if (!recorded?.position) continue;
        const position = formatPosition(recorded.position);
        if (cursor !== START_OF_LOG) {
          const order = comparePositions(position, cursor);
          if (direction === FORWARDS ? order <= 0 : order >= 0) continue;
        }
        cursor = position;
        if (isSystemEvent(recorded.streamId, recorded.type)) continue;
        if (!visit(resolved, position)) {
          go = false;
          break;
        }
      }
      if (!go || received < request) return;
    }
  }
}

function toRecordedEvent(resolved: ResolvedEvent): RecordedEvent | undefined {
  const recorded = resolved.event;
  if (!recorded || isSystemEvent(recorded.streamId, recorded.type)) return undefined;
  if (!recorded.position)
    throw new Error(`EventStoreDB sent event ${recorded.id} without its position (a server before 20.10?)`);
  const { metadata, recordedAt } = splitRecordedAt(recorded.metadata, recorded.created);
  return {
    id: recorded.id,
    type: recorded.type,
    data: decodeData(recorded.data),
    metadata,
    streamId: recorded.streamId,
    streamRevision: Number(recorded.revision),
    position: formatPosition(recorded.position),
    logOrder: logOrderOf(recorded.position),
    recordedAt,
  };
}
