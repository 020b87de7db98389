import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { v5 as uuidv5 } from 'uuid';
import { EVENT_STORE, type EventStore, WrongExpectedRevisionError } from '@fa/event-store';
import { decide } from '../../domain/bulk-sync-decider';
import { bulkSyncStreamId, type BulkSyncEvent } from '../../events';
import { bulkSyncMetrics } from '../../bulk-sync.metrics';
import { BulkSyncHistoryReader } from '../../queries/bulk-sync-history/bulk-sync-history.reader';
import { RecordBulkSyncCommand } from './record-bulk-sync.command';

const EVENT_NAMESPACE = '5b1f0e52-8c44-4b61-9f0a-1d3c7e9a2b40';
const ATTEMPTS = 5;

@CommandHandler(RecordBulkSyncCommand)
export class RecordBulkSyncHandler implements ICommandHandler<RecordBulkSyncCommand, BulkSyncEvent[]> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly history: BulkSyncHistoryReader,
  ) {}

  async execute({ source, command }: RecordBulkSyncCommand): Promise<BulkSyncEvent[]> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.history.state(source);
      const events = decide(state, command);
      try {
        await this.store.append(
          bulkSyncStreamId(source),
          events.map((event, index) => ({
            id: uuidv5(`${source}|${state.revision + 1 + index}|${event.type}`, EVENT_NAMESPACE),
            type: event.type,
            data: event.data,
          })),
          state.revision < 0 ? 'no_stream' : state.revision,
        );
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError && attempt < ATTEMPTS) continue;
        throw error;
      }
      for (const event of events)
        if (event.type === 'BulkSyncCompletenessWarned')
          for (const w of event.data.warnings)
            bulkSyncMetrics.completenessWarnings.inc({ source, type: w.resourceType, kind: w.kind });
      return events;
    }
  }
}
