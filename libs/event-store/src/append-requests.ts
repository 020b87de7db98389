import type { AppendRequest } from './event-store.port';

/** An appendMany names each stream once (its events in order): two requests for one stream are a caller's bug. */
export function assertDistinctStreams(requests: readonly AppendRequest[]): void {
  const seen = new Set<string>();
  for (const request of requests) {
    if (seen.has(request.streamId)) throw new Error(`appendMany: stream ${request.streamId} appears twice`);
    seen.add(request.streamId);
  }
}
