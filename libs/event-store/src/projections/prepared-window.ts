import type { Pool } from 'pg';
import type { EventStore, GlobalPosition, LogWindow } from '../event-store.port';
import type { Projection } from '../projection.port';

/** A window of the log holding only the projection's streams, with the projection's CPU-bound work done. */
export interface PreparedWindow extends LogWindow {
  prepared: unknown;
}

/** What reads windows for one generation of one projection. */
export interface WindowReader {
  store: EventStore;
  pool: Pool;
  projection: Projection;
  /** The generation's schema, whose state followedStreams() reads. */
  schema: string;
  maxCount: number;
}

/**
 * Reads the next window after `after` — only the streams the projection follows at this moment (followedStreams,
 * else its fixed streamPrefixes) — and runs the projection's prepare() on it.
 */
export async function readPrepared(reader: WindowReader, after: GlobalPosition): Promise<PreparedWindow> {
  const { store, pool, projection, schema, maxCount } = reader;
  const streamPrefixes = projection.followedStreams
    ? await projection.followedStreams(pool, schema)
    : projection.streamPrefixes;
  const window = await store.readAll({ after, maxCount, streamPrefixes });
  const prepared =
    projection.prepare && window.events.length > 0 ? await projection.prepare(window.events) : undefined;
  return { ...window, prepared };
}

/**
 * Reads and prepares the window after `current` while `current` is being written: this process works on the
 * next batch while PostgreSQL works on this one, so the two use both cores. A failure surfaces when awaited.
 */
export function readAhead(reader: WindowReader, current: PreparedWindow): Promise<PreparedWindow> {
  const next = readPrepared(reader, current.lastPosition);
  next.catch(() => undefined);
  return next;
}
