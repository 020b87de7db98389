import type { AppendRequest, ExpectedRevision } from '@fa/event-store';
import type { DecidedIdentityEvent } from './domain/decided-identity-event';
import { identityStreamId } from './domain/identity-events';

/**
 * Decisions as appends to the golden patients' streams, streams in the order they were first decided on (so
 * the log keeps the decider's order). With `expected`, every stream the decision read is checked at the
 * revision it was read at, written to or not, and a stream it did not read must not exist yet.
 */
export function appendRequests(
  decided: readonly DecidedIdentityEvent[],
  expected?: ReadonlyMap<string, ExpectedRevision>,
): AppendRequest[] {
  const byStream = new Map<string, AppendRequest>();
  const requestOf = (goldenId: string) => {
    const streamId = identityStreamId(goldenId);
    let request = byStream.get(streamId);
    if (!request) {
      request = { streamId, events: [] };
      if (expected) request.expectedRevision = expected.get(goldenId) ?? 'no_stream';
      byStream.set(streamId, request);
    }
    return request;
  };
  for (const { streamGoldenId, id, type, data } of decided) {
    requestOf(streamGoldenId).events.push({ id, type, data });
  }
  for (const goldenId of expected?.keys() ?? []) requestOf(goldenId);
  return [...byStream.values()];
}
