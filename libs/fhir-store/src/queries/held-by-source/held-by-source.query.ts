import { Query } from '@nestjs/cqrs';

/** Current (not deleted) resources per type recorded from one source: what bulk-sync compares between runs. */
export class HeldBySourceQuery extends Query<Record<string, number>> {
  constructor(readonly source: string) {
    super();
  }
}
