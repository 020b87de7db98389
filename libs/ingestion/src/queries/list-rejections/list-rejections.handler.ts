import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { EVENT_STORE, EventStore } from '@fa/event-store';
import { isIngestionRejected, rejectionStreamId } from '../../events';
import { ListRejectionsQuery, RecordedRejection } from './list-rejections.query';

@QueryHandler(ListRejectionsQuery)
export class ListRejectionsHandler implements IQueryHandler<ListRejectionsQuery, RecordedRejection[]> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute(query: ListRejectionsQuery): Promise<RecordedRejection[]> {
    const events = await this.store.readStream(rejectionStreamId(query.source), {
      direction: 'backwards',
      maxCount: query.limit,
    });
    return events.filter(isIngestionRejected).map((event) => ({
      ...event.data,
      eventId: event.id,
      recordedAt: event.recordedAt.toISOString(),
    }));
  }
}
