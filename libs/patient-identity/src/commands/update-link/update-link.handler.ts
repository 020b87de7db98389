import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { IdentityCommandRejected } from '../../domain/identity-command.errors';
import { decideUpdateLink } from '../../domain/reviewer-decider';
import { IdentityReader } from '../../queries/identity.reader';
import { GoldenPatientStreams } from '../golden-patient-streams';
import { UpdateLinkCommand, UpdateLinkResult } from './update-link.command';

/**
 * Decides on the streams of the golden patient named and of the one the source patient is linked to now. The
 * read model only says where to look for the latter; its stream decides, and the append expects both streams
 * as they were read, so a link moved in between is a conflict, never a decision on stale state.
 */
@CommandHandler(UpdateLinkCommand)
export class UpdateLinkHandler implements ICommandHandler<UpdateLinkCommand, UpdateLinkResult> {
  constructor(
    private readonly streams: GoldenPatientStreams,
    private readonly reader: IdentityReader,
  ) {}

  async execute(command: UpdateLinkCommand): Promise<UpdateLinkResult> {
    let read = await this.streams.read([command.goldenId]);
    const golden = read.states.get(command.goldenId)!;
    let current = golden.members.has(command.sourcePatientId) ? golden : undefined;
    if (!current && golden.created && !golden.mergedInto) {
      const {
        links: [link],
      } = await this.reader.links({ sourcePatientId: command.sourcePatientId, limit: 1 });
      if (link) {
        read = await this.streams.read([command.goldenId, link.goldenId]);
        current = read.states.get(link.goldenId)!;
        if (!current.members.has(command.sourcePatientId)) {
          throw new IdentityCommandRejected(
            'concurrent-change',
            `Patient/${command.sourcePatientId} is moving between golden patients: read it again and retry`,
          );
        }
      }
    }
    const { goldenId, events } = decideUpdateLink(
      { golden: read.states.get(command.goldenId)!, current },
      {
        kind: 'update-link',
        goldenId: command.goldenId,
        sourcePatientId: command.sourcePatientId,
        matchResult: command.matchResult,
        reviewer: command.reviewer,
        requestId: command.requestId,
      },
    );
    return { goldenId, eventIds: await this.streams.append(read, events) };
  }
}
