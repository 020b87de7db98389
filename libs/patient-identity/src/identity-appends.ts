import type { AppendRequest } from '@fa/event-store';
import type { DecidedIdentityEvent } from './domain/identity-decider';
import { identityStreamId } from './domain/identity-events';

/** Decisions grouped by stream, streams in the order they were first decided on (so the log keeps that order). */
export function appendRequests(decided: readonly DecidedIdentityEvent[]): AppendRequest[] {
  const byStream = new Map<string, AppendRequest>();
  for (const { streamGoldenId, id, type, data } of decided) {
    const streamId = identityStreamId(streamGoldenId);
    let request = byStream.get(streamId);
    if (!request) byStream.set(streamId, (request = { streamId, events: [] }));
    request.events.push({ id, type, data });
  }
  return [...byStream.values()];
}
