import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { BulkSyncState } from '../../domain/bulk-sync-decider';
import { BulkSyncHistoryQuery } from './bulk-sync-history.query';
import { BulkSyncHistoryReader } from './bulk-sync-history.reader';

@QueryHandler(BulkSyncHistoryQuery)
export class BulkSyncHistoryHandler implements IQueryHandler<BulkSyncHistoryQuery, BulkSyncState> {
  constructor(private readonly reader: BulkSyncHistoryReader) {}

  execute({ source }: BulkSyncHistoryQuery): Promise<BulkSyncState> {
    return this.reader.state(source);
  }
}
