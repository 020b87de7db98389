import type { EventStore, GlobalPosition, LogWindow } from '../event-store.port';
import type { Projection } from '../projection.port';

/** A window of the log holding only the projection's streams, with the projection's CPU-bound work done. */
export interface PreparedWindow extends LogWindow {
  prepared: unknown;
}

/** Reads the next window after `after` and runs the projection's prepare() on it. */
export async function readPrepared(
  store: EventStore,
  projection: Projection,
  after: GlobalPosition,
  maxCount: number,
): Promise<PreparedWindow> {
  const window = await store.readAll({ after, maxCount, streamPrefixes: projection.streamPrefixes });
  const prepared =
    projection.prepare && window.events.length > 0 ? await projection.prepare(window.events) : undefined;
  return { ...window, prepared };
}

/**
 * Reads and prepares the window after `current` while `current` is being written: this process works on the
 * next batch while PostgreSQL works on this one, so the two use both cores. A failure surfaces when awaited.
 */
export function readAhead(
  store: EventStore,
  projection: Projection,
  current: PreparedWindow,
  maxCount: number,
): Promise<PreparedWindow> {
  const next = readPrepared(store, projection, current.lastPosition, maxCount);
  next.catch(() => undefined);
  return next;
}
