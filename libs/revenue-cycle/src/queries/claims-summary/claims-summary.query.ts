import { Query } from '@nestjs/cqrs';
import type { ClaimsSummaryRow } from '../revenue-cycle.reader';

/** Claims per source and month of service: counts, billed, paid, denial rate, as of asOf. */
export class ClaimsSummaryQuery extends Query<ClaimsSummaryRow[]> {
  constructor(
    readonly asOf: Date,
    readonly from?: Date,
    readonly to?: Date,
  ) {
    super();
  }
}
