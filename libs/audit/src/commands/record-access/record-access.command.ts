import { Command } from '@nestjs/cqrs';
import type { AccessRecord } from '../../events/access-recorded.event';

/** Records one access durably; resolves once the record's batch is committed (group commit). */
export class RecordAccessCommand extends Command<void> {
  constructor(readonly record: AccessRecord) {
    super();
  }
}
