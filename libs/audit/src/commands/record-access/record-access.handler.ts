import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AccessJournal } from '../../storage/access-journal';
import { RecordAccessCommand } from './record-access.command';

@CommandHandler(RecordAccessCommand)
export class RecordAccessHandler implements ICommandHandler<RecordAccessCommand, void> {
  constructor(private readonly journal: AccessJournal) {}

  execute({ record }: RecordAccessCommand): Promise<void> {
    return this.journal.record(record);
  }
}
