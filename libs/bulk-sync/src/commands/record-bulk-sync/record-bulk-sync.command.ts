import { Command } from '@nestjs/cqrs';
import type { BulkSyncCommand } from '../../domain/bulk-sync-decider';
import type { BulkSyncEvent } from '../../events';

/** Records a step of a source's bulk-sync run (started, completed, cancelled, failed) on its stream. */
export class RecordBulkSyncCommand extends Command<BulkSyncEvent[]> {
  constructor(
    readonly source: string,
    readonly command: BulkSyncCommand,
  ) {
    super();
  }
}
