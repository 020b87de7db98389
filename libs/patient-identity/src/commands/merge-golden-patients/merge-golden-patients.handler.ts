import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideMergeGoldenPatients } from '../../domain/reviewer-decider';
import { GoldenPatientStreams } from '../golden-patient-streams';
import { MergeGoldenPatientsCommand } from './merge-golden-patients.command';

/** Decides on both golden patients' streams and appends expecting both as they were read. */
@CommandHandler(MergeGoldenPatientsCommand)
export class MergeGoldenPatientsHandler implements ICommandHandler<MergeGoldenPatientsCommand> {
  constructor(private readonly streams: GoldenPatientStreams) {}

  async execute(command: MergeGoldenPatientsCommand): Promise<{ intoGoldenId: string; moved: string[] }> {
    const read = await this.streams.read([command.fromGoldenId, command.intoGoldenId]);
    const { moved, events } = decideMergeGoldenPatients(
      { from: read.states.get(command.fromGoldenId)!, into: read.states.get(command.intoGoldenId)! },
      {
        kind: 'merge-golden-patients',
        fromGoldenId: command.fromGoldenId,
        intoGoldenId: command.intoGoldenId,
        reviewer: command.reviewer,
        requestId: command.requestId,
      },
    );
    await this.streams.append(read, events);
    return { intoGoldenId: command.intoGoldenId, moved };
  }
}
