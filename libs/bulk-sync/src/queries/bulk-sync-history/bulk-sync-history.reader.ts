import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@fa/event-store';
import { evolve, initialBulkSyncState, type BulkSyncState } from '../../domain/bulk-sync-decider';
import { bulkSyncStreamId, type BulkSyncEvent } from '../../events';

/** A source's bulk-sync state: the fold of its stream (a few events per run). */
@Injectable()
export class BulkSyncHistoryReader {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async state(source: string): Promise<BulkSyncState> {
    const events = await this.store.readStream(bulkSyncStreamId(source));
    return events.reduce(
      (state, event) => evolve(state, { type: event.type, data: event.data } as BulkSyncEvent),
      initialBulkSyncState,
    );
  }
}
