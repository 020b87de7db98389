import { Query } from '@nestjs/cqrs';
import type { BulkSyncState } from '../../domain/bulk-sync-decider';

/** A source's bulk-sync state: the last completed run (the next `_since`), a run left unfinished, last counts. */
export class BulkSyncHistoryQuery extends Query<BulkSyncState> {
  constructor(readonly source: string) {
    super();
  }
}
