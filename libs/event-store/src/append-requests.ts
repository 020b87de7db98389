import type { AppendRequest, ExpectedRevision } from './event-store.port';

/** An appendMany names each stream once (its events in order): two requests for one stream are a caller's bug. */
export function assertDistinctStreams(requests: readonly AppendRequest[]): void {
  const seen = new Set<string>();
  for (const request of requests) {
    if (seen.has(request.streamId)) throw new Error(`appendMany: stream ${request.streamId} appears twice`);
    seen.add(request.streamId);
  }
}

/** Whether a stream whose last event has revision `actual` (-1: no stream) meets an append's expectation. */
export function expectationHolds(expected: ExpectedRevision, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return expected === actual;
}
