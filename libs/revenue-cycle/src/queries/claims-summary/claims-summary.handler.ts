import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { ClaimsSummaryRow, RevenueCycleReader } from '../revenue-cycle.reader';
import { ClaimsSummaryQuery } from './claims-summary.query';

@QueryHandler(ClaimsSummaryQuery)
export class ClaimsSummaryHandler implements IQueryHandler<ClaimsSummaryQuery, ClaimsSummaryRow[]> {
  constructor(private readonly reader: RevenueCycleReader) {}

  execute(query: ClaimsSummaryQuery): Promise<ClaimsSummaryRow[]> {
    return this.reader.summary(query.asOf, query.from, query.to);
  }
}
