import { Query } from '@nestjs/cqrs';
import type { OpenReview } from '../identity.reader';

/** Possible matches waiting for a reviewer, oldest first. */
export class ReviewQueueQuery extends Query<OpenReview[]> {
  constructor(readonly limit: number) {
    super();
  }
}
