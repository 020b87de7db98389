import { AppendRequest, EventStore, GlobalPosition, RecordedEvent, START_OF_LOG } from '../event-store.port';

export interface CopyProgress {
  /** Events the target held already (a resumed copy). */
  alreadyCopied: number;
  copied: number;
}

export interface CopyOptions {
  /** Events read from the source per window (default 2000). */
  windowSize?: number;
  /** Stop after this many new events (tests use it to interrupt a copy). */
  maxEvents?: number;
  onProgress?: (progress: CopyProgress) => void;
}

export class CopyTargetMismatchError extends Error {
  override readonly name = 'CopyTargetMismatchError';
}

/**
 * Copies a whole log, event by event in global order, with ids, types, data, metadata and record times. The
 * target must be empty or an earlier, interrupted copy of the same source (a prefix of its log): the copy then
 * continues after the events already there. Appends carry the source's revisions as exact expectations and its
 * event ids, so a batch repeated after a crash writes nothing twice. The service should not be writing to the
 * target meanwhile; events appended to the source during a copy are taken by the next run.
 */
export async function copyEventLog(
  source: EventStore,
  target: EventStore,
  options: CopyOptions = {},
): Promise<CopyProgress> {
  const windowSize = options.windowSize ?? 2000;
  const alreadyCopied = await target.countAfter(START_OF_LOG);
  let after = await skipCopied(source, target, alreadyCopied, windowSize);
  const progress: CopyProgress = { alreadyCopied, copied: 0 };
  const limit = options.maxEvents ?? Infinity;
  while (progress.copied < limit) {
    const window = await source.readAll({ after, maxCount: Math.min(windowSize, limit - progress.copied) });
    if (window.scanned === 0) break;
    for (const batch of orderPreservingBatches(window.events)) {
      const results = await target.appendMany(batch);
      const written = results.reduce((sum, r) => sum + r.written, 0);
      const expected = batch.reduce((sum, r) => sum + r.events.length, 0);
      if (written !== expected)
        throw new CopyTargetMismatchError(
          `the target already held ${expected - written} of the events after the ${alreadyCopied + progress.copied} it started with: it is not a prefix of the source`,
        );
      progress.copied += written;
    }
    after = window.lastPosition;
    options.onProgress?.({ ...progress });
  }
  return progress;
}

/**
 * The source position after its first `count` events, having checked that the last of them is the target's last
 * event (same stream, revision and id). Events before it are skipped without their bodies.
 */
async function skipCopied(
  source: EventStore,
  target: EventStore,
  count: number,
  windowSize: number,
): Promise<GlobalPosition> {
  let after = START_OF_LOG;
  let skipped = 0;
  while (skipped < count - 1) {
    const window = await source.readAll({
      after,
      maxCount: Math.min(windowSize, count - 1 - skipped),
      streamPrefixes: [],
    });
    if (window.scanned === 0) break;
    skipped += window.scanned;
    after = window.lastPosition;
  }
  if (count === 0) return after;
  const last = (await source.readAll({ after, maxCount: 1 })).events[0];
  if (!last)
    throw new CopyTargetMismatchError(`the target holds ${count} events, more than the source's ${skipped}`);
  const [there] = await target.readStream(last.streamId, { fromRevision: last.streamRevision, maxCount: 1 });
  if (!there || there.id.toLowerCase() !== last.id.toLowerCase())
    throw new CopyTargetMismatchError(
      `the target's ${count} events are not the first ${count} of the source (event ${count} is ${last.streamId}@${last.streamRevision} in the source, not in the target)`,
    );
  return last.position;
}

/**
 * appendMany writes its requests in order, each request's events together. Splitting a window wherever a stream
 * comes back keeps the target's global order equal to the source's.
 */
export function orderPreservingBatches(events: readonly RecordedEvent[]): AppendRequest[][] {
  const batches: AppendRequest[][] = [];
  let batch: AppendRequest[] = [];
  let inBatch = new Set<string>();
  for (const e of events) {
    const current = batch[batch.length - 1];
    const copy = { id: e.id, type: e.type, data: e.data, metadata: e.metadata, recordedAt: e.recordedAt };
    if (current?.streamId === e.streamId) {
      current.events.push(copy);
      continue;
    }
    if (inBatch.has(e.streamId)) {
      batches.push(batch);
      batch = [];
      inBatch = new Set();
    }
    inBatch.add(e.streamId);
    batch.push({
      streamId: e.streamId,
      events: [copy],
      expectedRevision: e.streamRevision === 0 ? 'no_stream' : e.streamRevision - 1,
    });
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
