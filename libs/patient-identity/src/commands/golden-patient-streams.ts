import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, EventStore, ExpectedRevision, WrongExpectedRevisionError } from '@fa/event-store';
import { IdentityCommandRejected } from '../domain/identity-command.errors';
import type { DecidedIdentityEvent } from '../domain/decided-identity-event';
import { asIdentityEvent, identityStreamId } from '../domain/identity-events';
import { foldGoldenPatient, GoldenPatientState } from '../domain/identity-state';
import { appendRequests } from '../identity-appends';

/** Golden patients read from their own streams, as the reviewers' commands decide on them. */
export interface ReadGoldenPatients {
  readonly states: ReadonlyMap<string, GoldenPatientState>;
  /** The revision each stream was read at: the append expects it. */
  readonly revisions: ReadonlyMap<string, ExpectedRevision>;
}

/**
 * The reviewers' side of the identity streams: read a golden patient's stream and fold it (evolve), append a
 * decision expecting every stream it read to be where it was read. A stream changed in between (another
 * reviewer, or the matcher) is a concurrent change: nothing is written and the caller is told to read again.
 */
@Injectable()
export class GoldenPatientStreams {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async read(goldenIds: string[]): Promise<ReadGoldenPatients> {
    const states = new Map<string, GoldenPatientState>();
    const revisions = new Map<string, ExpectedRevision>();
    for (const goldenId of new Set(goldenIds)) {
      const recorded = await this.store.readStream(identityStreamId(goldenId));
      states.set(
        goldenId,
        foldGoldenPatient(
          goldenId,
          recorded.flatMap((e) => asIdentityEvent(e) ?? []),
        ),
      );
      revisions.set(
        goldenId,
        recorded.length > 0 ? recorded[recorded.length - 1].streamRevision : 'no_stream',
      );
    }
    return { states, revisions };
  }

  async append(read: ReadGoldenPatients, decided: readonly DecidedIdentityEvent[]): Promise<string[]> {
    const requests = appendRequests(decided, read.revisions);
    try {
      await this.store.appendMany(requests);
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      throw new IdentityCommandRejected(
        'concurrent-change',
        `Patient/${error.streamId.slice(identityStreamId('').length)} changed while this decision was made ` +
          `(expected revision ${String(error.expected)}, found ${String(error.actual)}): read it again and retry`,
      );
    }
    return requests.flatMap((r) => r.events.map((e) => e.id));
  }
}
