import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { v5 as uuidv5 } from 'uuid';
import { EVENT_STORE, EventStore, EventToAppend } from '@fa/event-store';
import {
  DecidedBy,
  GOLDEN_PATIENT_CREATED,
  identityStreamId,
  LINK_REVIEW_RESOLVED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from '../../domain/identity-events';
import { IDENTITY_NAMESPACE } from '../../domain/identity-decider';
import { IdentityReader } from '../../queries/identity.reader';
import { IdentityCommandRejected } from '../../domain/identity-command.errors';
import { UpdateLinkCommand, UpdateLinkResult } from './update-link.command';

@CommandHandler(UpdateLinkCommand)
export class UpdateLinkHandler implements ICommandHandler<UpdateLinkCommand, UpdateLinkResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly reader: IdentityReader,
  ) {}

  async execute(command: UpdateLinkCommand): Promise<UpdateLinkResult> {
    const golden = await this.reader.golden(command.goldenId);
    if (!golden)
      throw new IdentityCommandRejected(
        'unknown-golden',
        `Patient/${command.goldenId} is not a golden patient`,
      );
    if (golden.mergedInto) {
      throw new IdentityCommandRejected(
        'golden-merged',
        `Patient/${command.goldenId} was merged into Patient/${golden.mergedInto}`,
      );
    }
    const [current] = await this.reader.links({ sourcePatientId: command.sourcePatientId, limit: 1 });
    if (!current) {
      throw new IdentityCommandRejected(
        'unknown-source-patient',
        `Patient/${command.sourcePatientId} is not linked to any golden patient`,
      );
    }
    const id = (n: string) => uuidv5(`${command.requestId}|${n}`, IDENTITY_NAMESPACE);
    const decidedBy: DecidedBy = { kind: 'reviewer', reviewer: command.reviewer };
    const appends = new Map<string, EventToAppend[]>();
    const emit = (goldenId: string, event: EventToAppend) => {
      const stream = identityStreamId(goldenId);
      appends.set(stream, [...(appends.get(stream) ?? []), event]);
    };
    const base = { sourcePatientId: command.sourcePatientId, decidedBy };
    let resultGolden: string;
    if (command.matchResult === 'MATCH') {
      if (current.goldenId !== command.goldenId) {
        emit(current.goldenId, {
          id: id('unlink'),
          type: PATIENT_UNLINKED,
          data: { ...base, goldenId: current.goldenId, reason: 'reviewer-match-elsewhere' },
        });
      }
      emit(command.goldenId, {
        id: id('link'),
        type: PATIENT_LINKED,
        data: {
          ...base,
          goldenId: command.goldenId,
          source: current.source,
          matchResult: 'MATCH',
          manual: true,
          rule: 'reviewer-match',
        },
      });
      resultGolden = command.goldenId;
    } else if (current.goldenId === command.goldenId) {
      // Not this person: the source patient leaves for a golden patient of its own, for good.
      const newGolden = id('golden');
      emit(command.goldenId, {
        id: id('unlink'),
        type: PATIENT_UNLINKED,
        data: { ...base, goldenId: command.goldenId, reason: 'reviewer-no-match' },
      });
      emit(newGolden, {
        id: id('golden-created'),
        type: GOLDEN_PATIENT_CREATED,
        data: { goldenId: newGolden, firstSourcePatientId: command.sourcePatientId, decidedBy },
      });
      emit(newGolden, {
        id: id('link'),
        type: PATIENT_LINKED,
        data: {
          ...base,
          goldenId: newGolden,
          source: current.source,
          matchResult: 'MATCH',
          manual: true,
          rule: 'reviewer-no-match',
        },
      });
      resultGolden = newGolden;
    } else {
      resultGolden = current.goldenId;
    }
    emit(command.goldenId, {
      id: id('resolved'),
      type: LINK_REVIEW_RESOLVED,
      data: { ...base, goldenId: command.goldenId, resolution: command.matchResult },
    });
    const requests = [...appends].map(([streamId, events]) => ({ streamId, events }));
    await this.store.appendMany(requests);
    return { goldenId: resultGolden, eventIds: requests.flatMap((r) => r.events.map((e) => e.id)) };
  }
}
