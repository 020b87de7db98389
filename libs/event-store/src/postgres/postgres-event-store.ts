import type { Pool, PoolClient } from 'pg';
import { copyInto, copyText } from '@fa/platform';
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
import { AppendListener } from './append-listener';
import { EVENTS_APPENDED_CHANNEL, migrateEventStore } from './event-store-schema';
import { comparePositions, formatPosition, parsePosition } from './positions';
import { assertDistinctStreams, expectationHolds } from '../append-requests';

// Queries select transaction_id::text AS transaction_id, so ORDER BY must name events.transaction_id: a bare
// name would sort by the text output column ("1000" < "999") and could not use the index.

/** Below this position every transaction has finished: the snapshot rule that keeps readers from skipping events. */
const VISIBLE = `transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;

function eventColumns(alias = 'events'): string {
  return `${alias}.global_position, ${alias}.transaction_id::text AS transaction_id, ${alias}.stream_id,
    ${alias}.stream_revision, ${alias}.event_id::text AS event_id, ${alias}.type, ${alias}.data, ${alias}.metadata,
    ${alias}.recorded_at`;
}

interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_revision: number;
  event_id: string;
  type: string;
  data: unknown;
  metadata: unknown;
  recorded_at: Date;
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    streamRevision: row.stream_revision,
    position: formatPosition(row.transaction_id, row.global_position),
    logOrder: [row.transaction_id, row.global_position],
    recordedAt: row.recorded_at,
  };
}

/**
 * The default EventStore adapter: the global log is one PostgreSQL table (see event-store-schema.ts), read in
 * (transaction id, global position) order behind the oldest running transaction, so no reader ever skips an
 * event that commits late.
 */
export class PostgresEventStore implements EventStore {
  private readonly appends: AppendListener;

  constructor(private readonly pool: Pool) {
    this.appends = new AppendListener(pool);
  }

  /** Creates the tables if missing. Safe to run from several processes at once. */
  migrate(): Promise<void> {
    return migrateEventStore(this.pool);
  }

  append(
    streamId: string,
    events: EventToAppend[],
    expectedRevision: ExpectedRevision = 'any',
  ): Promise<AppendResult> {
    return this.appendMany([{ streamId, events, expectedRevision }]).then((results) => results[0]);
  }

  async appendMany(requests: AppendRequest[], options: AppendOptions = {}): Promise<AppendResult[]> {
    if (requests.length === 0) return [];
    assertDistinctStreams(requests);
    // A process manager's decisions commit with its own state and checkpoint, in its transaction.
    if (options.within) return this.appendInTransaction(options.within, requests);
    // A deadlock can only come from callers holding other locks; retry it a few times, never a real conflict.
    for (let attempt = 0; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const results = await this.appendInTransaction(client, requests);
        await client.query('COMMIT');
        return results;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: string }).code;
        if (code === '40P01' && attempt < 5) continue;
        throw error;
      } finally {
        client.release();
      }
    }
  }

  private async appendInTransaction(client: PoolClient, requests: AppendRequest[]): Promise<AppendResult[]> {
    const streamIds = requests.map((r) => r.streamId);
    // Serialise writers per stream with advisory locks taken in a fixed order (no deadlocks). Advisory locks do
    // not assign a transaction id, so a writer gets its id only after the previous writer of the same stream
    // has committed: within a stream, (transaction_id, global_position) order then equals revision order.
    await client.query(
      `SELECT pg_advisory_xact_lock(k)
         FROM (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest($1::text[]) AS s ORDER BY k) AS keys`,
      [streamIds],
    );
    const locked = await client.query<{ stream_id: string; revision: number }>(
      `SELECT stream_id, revision FROM streams WHERE stream_id = ANY($1::text[])`,
      [streamIds],
    );
    const revisions = new Map(locked.rows.map((r) => [r.stream_id, r.revision]));
    const allEventIds = requests.flatMap((r) => r.events.map((e) => e.id));
    const existing = await client.query<{ stream_id: string; event_id: string }>(
      `SELECT stream_id, event_id::text AS event_id FROM events
        WHERE stream_id = ANY($1::text[]) AND event_id = ANY($2::uuid[])`,
      [streamIds, allEventIds],
    );
    const existingKeys = new Set(existing.rows.map((r) => `${r.stream_id}\u0000${r.event_id}`));

    const rows: { s: string; r: number; i: string; t: string; d: unknown; m: unknown; a?: Date }[] = [];
    const results: AppendResult[] = [];
    for (const request of requests) {
      const current = revisions.get(request.streamId) ?? -1;
      const fresh = request.events.filter(
        (e) => !existingKeys.has(`${request.streamId}\u0000${e.id.toLowerCase()}`),
      );
      // A retried append whose events are all stored already succeeds without writing: idempotence beats
      // the revision check, which the first attempt has already passed.
      if (fresh.length === 0 && request.events.length > 0) {
        results.push({ streamId: request.streamId, nextExpectedRevision: current, written: 0 });
        continue;
      }
      const expected = request.expectedRevision ?? 'any';
      if (!expectationHolds(expected, current)) {
        throw new WrongExpectedRevisionError(
          request.streamId,
          expected,
          current === -1 ? 'no_stream' : current,
        );
      }
      let revision = current;
      for (const event of fresh) {
        revision += 1;
        rows.push({
          s: request.streamId,
          r: revision,
          i: event.id,
          t: event.type,
          d: event.data,
          m: event.metadata ?? {},
          a: event.recordedAt,
        });
      }
      revisions.set(request.streamId, revision);
      results.push({ streamId: request.streamId, nextExpectedRevision: revision, written: fresh.length });
    }
    if (rows.length > 0) {
      // Only a copied log gives record times; every other append takes the column's default (now). One COPY
      // keeps global positions in revision order, so a batch gives record times for all its events or none.
      const kept = rows.filter((e) => e.a).length;
      if (kept > 0 && kept < rows.length)
        throw new Error('appendMany: give recordedAt for every event of a batch or for none');
      await copyInto(
        client,
        'events',
        `stream_id, stream_revision, event_id, type, data, metadata${kept ? ', recorded_at' : ''}`,
        copyText(rows.map((e) => [e.s, e.r, e.i, e.t, e.d, e.m, ...(kept ? [e.a] : [])])),
      );
      // Delivered at commit: projection loops wake at once instead of polling an idle log.
      await client.query('SELECT pg_notify($1, $2)', [EVENTS_APPENDED_CHANNEL, '']);
      const changed = results.filter((r) => r.written > 0);
      await client.query(
        `INSERT INTO streams (stream_id, revision)
         SELECT * FROM unnest($1::text[], $2::int[])
         ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision`,
        [changed.map((r) => r.streamId), changed.map((r) => r.nextExpectedRevision)],
      );
    }
    return results;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? 2 ** 31 - 1 : 0);
    const result = await this.pool.query<EventRow>(
      `SELECT ${eventColumns()} FROM events
        WHERE stream_id = $1 AND stream_revision ${backwards ? '<=' : '>='} $2
        ORDER BY stream_revision ${backwards ? 'DESC' : 'ASC'}
        LIMIT $3`,
      [streamId, from, options.maxCount ?? null],
    );
    return result.rows.map(toRecordedEvent);
  }

  async readLastEvents(streamIds: string[]): Promise<Map<string, RecordedEvent>> {
    if (streamIds.length === 0) return new Map();
    const result = await this.pool.query<EventRow>(
      `SELECT ${eventColumns('e')}
         FROM streams s JOIN events e ON e.stream_id = s.stream_id AND e.stream_revision = s.revision
        WHERE s.stream_id = ANY($1::text[])`,
      [streamIds],
    );
    return new Map(result.rows.map((row) => [row.stream_id, toRecordedEvent(row)]));
  }

  /**
   * The next window of the log after a position. With `streamPrefixes`, events of other streams still advance
   * `lastPosition` but are never sent: the window is chosen in PostgreSQL (the next maxCount events by the
   * index), and only the followed streams' events come back, with the window's last row (for its position) and
   * its size. A follower of a few streams (the matcher, the links, the analytics views) skips the rest of the
   * log without Node parsing a row of it. Without prefixes it is the plain ordered read.
   */
  async readAll(options: ReadAllOptions = {}): Promise<LogWindow> {
    const after = options.after ?? START_OF_LOG;
    const from = parsePosition(after);
    const maxCount = options.maxCount ?? 1000;
    if (!options.streamPrefixes) {
      const result = await this.pool.query<EventRow>(
        `SELECT ${eventColumns()} FROM events
          WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint) AND ${VISIBLE}
          ORDER BY events.transaction_id, events.global_position
          LIMIT $3`,
        [from.transactionId, from.globalPosition, maxCount],
      );
      const rows = result.rows;
      const last = rows[rows.length - 1];
      return {
        events: rows.map(toRecordedEvent),
        lastPosition: last ? formatPosition(last.transaction_id, last.global_position) : after,
        scanned: rows.length,
      };
    }
    const patterns = options.streamPrefixes.map((prefix) => prefix.replace(/[\\%_]/g, '\\$&') + '%');
    const result = await this.pool.query<EventRow & { wanted: boolean; scanned: number }>(
      `SELECT e.global_position, e.transaction_id::text AS transaction_id, e.stream_id, e.stream_revision,
              e.event_id::text AS event_id, e.type, e.recorded_at, w.wanted, w.scanned,
              CASE WHEN w.wanted THEN e.data END AS data, CASE WHEN w.wanted THEN e.metadata END AS metadata
         FROM (SELECT s.global_position, s.stream_id LIKE ANY($4::text[]) AS wanted,
                      count(*) OVER ()::int AS scanned,
                      row_number() OVER (ORDER BY s.transaction_id, s.global_position) AS n
                 FROM (SELECT transaction_id, global_position, stream_id FROM events
                        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint) AND ${VISIBLE}
                        ORDER BY events.transaction_id, events.global_position
                        LIMIT $3) AS s) AS w
         JOIN events e ON e.global_position = w.global_position
        WHERE w.wanted OR w.n = w.scanned
        ORDER BY e.transaction_id, e.global_position`,
      [from.transactionId, from.globalPosition, maxCount, patterns],
    );
    const rows = result.rows;
    const last = rows[rows.length - 1];
    return {
      events: rows.filter((row) => row.wanted).map(toRecordedEvent),
      lastPosition: last ? formatPosition(last.transaction_id, last.global_position) : after,
      scanned: last ? last.scanned : 0,
    };
  }

  /**
   * Position of the newest committed event, visible to readers yet or not: a reader that reaches it has seen
   * everything committed before the call (the visible head can lag while other transactions hold back the
   * snapshot).
   */
  async headPosition(): Promise<GlobalPosition> {
    const result = await this.pool.query<{ transaction_id: string; global_position: string }>(
      `SELECT transaction_id::text AS transaction_id, global_position FROM events
        ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`,
    );
    const row = result.rows[0];
    return row ? formatPosition(row.transaction_id, row.global_position) : START_OF_LOG;
  }

  /** Number of visible events after a position (lag of a checkpoint). */
  async countAfter(position: GlobalPosition): Promise<number> {
    const after = parsePosition(position);
    const result = await this.pool.query<{ count: string }>(
      `SELECT count(*) AS count FROM events
        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint) AND ${VISIBLE}`,
      [after.transactionId, after.globalPosition],
    );
    return Number(result.rows[0].count);
  }

  comparePositions(a: GlobalPosition, b: GlobalPosition): number {
    return comparePositions(a, b);
  }

  waitForAppend(timeoutMs: number): Promise<void> {
    return this.appends.wait(timeoutMs);
  }

  /** Releases the LISTEN connection; the pool belongs to whoever opened the database. */
  async close(): Promise<void> {
    await this.appends.close();
  }
}
