import { Query } from '@nestjs/cqrs';
import type { IngestionRejectedData } from '../../events';

export interface RecordedRejection extends IngestionRejectedData {
  eventId: string;
  recordedAt: string;
}

/** The newest rejections of one source (what could not be ingested, where it came from, and why). */
export class ListRejectionsQuery extends Query<RecordedRejection[]> {
  constructor(
    readonly source: string,
    readonly limit: number,
  ) {
    super();
  }
}
