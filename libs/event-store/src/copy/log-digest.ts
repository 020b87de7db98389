import { createHash } from 'node:crypto';
import { canonicalJson } from '@fa/fhir';
import { EventStore, START_OF_LOG } from '../event-store.port';

export interface LogDigest {
  events: number;
  /** Streams, counted by their first events (revision 0). */
  streams: number;
  /** SHA-256 over every event in log order: stream, revision, id, type, record time, data and metadata. */
  sha256: string;
}

/**
 * A digest of a whole log read through the port, equal for two stores exactly when they hold the same events in
 * the same order: positions (which differ between stores) are left out, JSON is compared canonically.
 */
export async function digestEventLog(
  store: EventStore,
  options: { windowSize?: number; onProgress?: (events: number) => void } = {},
): Promise<LogDigest> {
  const hash = createHash('sha256');
  let after = START_OF_LOG;
  let events = 0;
  let streams = 0;
  for (;;) {
    const window = await store.readAll({ after, maxCount: options.windowSize ?? 2000 });
    if (window.scanned === 0) break;
    for (const e of window.events) {
      hash.update(digestLine(e));
      events++;
      if (e.streamRevision === 0) streams++;
    }
    after = window.lastPosition;
    options.onProgress?.(events);
  }
  return { events, streams, sha256: hash.digest('hex') };
}

function digestLine(e: {
  streamId: string;
  streamRevision: number;
  id: string;
  type: string;
  recordedAt: Date;
  data: unknown;
  metadata: unknown;
}): string {
  return (
    canonicalJson([
      e.streamId,
      e.streamRevision,
      e.id.toLowerCase(),
      e.type,
      e.recordedAt.toISOString(),
      e.data,
      e.metadata ?? {},
    ]) + '\n'
  );
}
