import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, EventStore, WrongExpectedRevisionError } from '@fa/event-store';
import { deterministicEventId } from '@fa/ingestion';
import { linkIdOf } from '../../domain/fact-matching-decider';
import { ClinicalCommandRejected, decideSplit, foldLink } from '../../domain/reviewer-decider';
import { asClinicalEvent, clinicalLinkStreamId, FactRef } from '../../events/clinical-events';
import { SplitFactsCommand, SplitFactsResult } from './split-facts.command';

/** Reads the pair's stream, decides, and appends expecting the stream as read (a change meanwhile is a 409). */
@CommandHandler(SplitFactsCommand)
export class SplitFactsHandler implements ICommandHandler<SplitFactsCommand, SplitFactsResult> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute(command: SplitFactsCommand): Promise<SplitFactsResult> {
    const [a, b] = command.resources as unknown as [FactRef, FactRef];
    const linkId = linkIdOf(a, b);
    const streamId = clinicalLinkStreamId(linkId);
    const recorded = await this.store.readStream(streamId);
    const event = decideSplit(foldLink(recorded.flatMap((e) => asClinicalEvent(e) ?? [])), {
      linkId,
      reviewer: command.reviewer,
      requestId: command.requestId,
      note: command.note,
    });
    const eventId = deterministicEventId(command.requestId, event.type, linkId);
    try {
      await this.store.append(
        streamId,
        [{ id: eventId, type: event.type, data: event.data }],
        recorded[recorded.length - 1].streamRevision,
      );
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError)
        throw new ClinicalCommandRejected(
          'concurrent-change',
          'The link changed meanwhile: read it again and retry',
        );
      throw error;
    }
    return { linkId, eventId };
  }
}
