import { Module } from '@nestjs/common';
import { RecordBulkSyncHandler } from './commands/record-bulk-sync/record-bulk-sync.handler';
import { BulkSyncHistoryHandler } from './queries/bulk-sync-history/bulk-sync-history.handler';
import { BulkSyncHistoryReader } from './queries/bulk-sync-history/bulk-sync-history.reader';
import { BulkSyncRunner } from './sync/bulk-sync.runner';

/** The bulk-sync client's runs per source (events) and the runner. Needs CqrsModule and EventStoreModule. */
@Module({
  providers: [BulkSyncHistoryReader, RecordBulkSyncHandler, BulkSyncHistoryHandler, BulkSyncRunner],
  exports: [BulkSyncRunner],
})
export class BulkSyncModule {}
