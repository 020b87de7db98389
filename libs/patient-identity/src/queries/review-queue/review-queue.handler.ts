import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { IdentityReader, OpenReview } from '../identity.reader';
import { ReviewQueueQuery } from './review-queue.query';

@QueryHandler(ReviewQueueQuery)
export class ReviewQueueHandler implements IQueryHandler<ReviewQueueQuery, OpenReview[]> {
  constructor(private readonly reader: IdentityReader) {}

  execute(query: ReviewQueueQuery): Promise<OpenReview[]> {
    return this.reader.openReviews(query.limit);
  }
}
