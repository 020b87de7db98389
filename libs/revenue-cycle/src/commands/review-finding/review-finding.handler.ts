import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { v5 as uuidv5 } from 'uuid';
import { EVENT_STORE, type EventStore } from '@fa/event-store';
import { decideDetection, evolveFinding, type FindingState } from '../../domain/duplicate-decider';
import { asRevenueCycleEvent, findingStreamId } from '../../events/revenue-cycle-event';
import { ReviewFindingCommand, ReviewFindingResult } from './review-finding.command';

const EVENT_NAMESPACE = 'c41b7e2a-8d5f-4a93-b0e6-2f9d7c1a3e58';

@CommandHandler(ReviewFindingCommand)
export class ReviewFindingHandler implements ICommandHandler<ReviewFindingCommand, ReviewFindingResult> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute(command: ReviewFindingCommand): Promise<ReviewFindingResult> {
    const streamId = findingStreamId(command.findingId);
    const history = await this.store.readStream(streamId);
    let finding: FindingState | undefined;
    for (const recorded of history) {
      const event = asRevenueCycleEvent(recorded);
      if (event) finding = evolveFinding(finding, event);
    }
    const findings = new Map(finding ? [[finding.findingId, finding]] : []);
    const events = decideDetection(
      { findings },
      {
        kind: 'resolve',
        findingId: command.findingId,
        resolution: command.resolution,
        reviewer: command.reviewer,
        note: command.note,
      },
    );
    if (events.length > 0) {
      // Expected revision: a detector's withdrawal in between makes this a conflict, not a silent overwrite.
      await this.store.append(
        streamId,
        events.map((event) => ({
          id: uuidv5(`${command.requestId}|${command.findingId}|${command.resolution}`, EVENT_NAMESPACE),
          type: event.type,
          data: event.data,
        })),
        history.at(-1)!.streamRevision,
      );
    }
    return { findingId: command.findingId, status: command.resolution, recorded: events.length > 0 };
  }
}
