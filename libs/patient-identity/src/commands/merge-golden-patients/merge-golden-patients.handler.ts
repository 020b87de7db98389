import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { v5 as uuidv5 } from 'uuid';
import { EVENT_STORE, EventStore } from '@fa/event-store';
import {
  DecidedBy,
  GOLDEN_PATIENTS_MERGED,
  identityStreamId,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from '../../domain/identity-events';
import { IDENTITY_NAMESPACE } from '../../domain/identity-decider';
import { IdentityReader } from '../../queries/identity.reader';
import { IdentityCommandRejected } from '../../domain/identity-command.errors';
import { MergeGoldenPatientsCommand } from './merge-golden-patients.command';

@CommandHandler(MergeGoldenPatientsCommand)
export class MergeGoldenPatientsHandler implements ICommandHandler<MergeGoldenPatientsCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly reader: IdentityReader,
  ) {}

  async execute(command: MergeGoldenPatientsCommand): Promise<{ intoGoldenId: string; moved: string[] }> {
    if (command.fromGoldenId === command.intoGoldenId) {
      throw new IdentityCommandRejected('same-golden', 'A golden patient cannot be merged into itself');
    }
    for (const goldenId of [command.fromGoldenId, command.intoGoldenId]) {
      const golden = await this.reader.golden(goldenId);
      if (!golden)
        throw new IdentityCommandRejected('unknown-golden', `Patient/${goldenId} is not a golden patient`);
      if (golden.mergedInto) {
        throw new IdentityCommandRejected(
          'golden-merged',
          `Patient/${goldenId} was already merged into Patient/${golden.mergedInto}`,
        );
      }
    }
    const links = await this.reader.links({ goldenId: command.fromGoldenId, limit: 10_000 });
    const id = (n: string) => uuidv5(`${command.requestId}|${n}`, IDENTITY_NAMESPACE);
    const decidedBy: DecidedBy = { kind: 'reviewer', reviewer: command.reviewer };
    const moved = links.map((l) => l.sourcePatientId);
    await this.store.appendMany([
      {
        streamId: identityStreamId(command.fromGoldenId),
        events: [
          ...links.map((link) => ({
            id: id(`unlink|${link.sourcePatientId}`),
            type: PATIENT_UNLINKED,
            data: {
              goldenId: command.fromGoldenId,
              sourcePatientId: link.sourcePatientId,
              reason: 'merge',
              decidedBy,
            },
          })),
          {
            id: id('merged'),
            type: GOLDEN_PATIENTS_MERGED,
            data: {
              fromGoldenId: command.fromGoldenId,
              intoGoldenId: command.intoGoldenId,
              movedSourcePatientIds: moved,
              decidedBy,
            },
          },
        ],
      },
      {
        streamId: identityStreamId(command.intoGoldenId),
        events: links.map((link) => ({
          id: id(`link|${link.sourcePatientId}`),
          type: PATIENT_LINKED,
          data: {
            goldenId: command.intoGoldenId,
            sourcePatientId: link.sourcePatientId,
            source: link.source,
            matchResult: 'MATCH',
            manual: true,
            rule: 'merge',
            decidedBy,
          },
        })),
      },
    ]);
    return { intoGoldenId: command.intoGoldenId, moved };
  }
}
