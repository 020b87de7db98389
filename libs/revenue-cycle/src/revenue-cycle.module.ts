import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '@fa/platform';
import { RegisterRevenueViews } from './commands/register-revenue-views';
import { ReviewFindingHandler } from './commands/review-finding/review-finding.handler';
import { ClaimsSummaryHandler } from './queries/claims-summary/claims-summary.handler';
import { CoverageOnDateHandler } from './queries/coverage-on-date/coverage-on-date.handler';
import { PatientClaimsHandler } from './queries/patient-claims/patient-claims.handler';
import { RevenueCycleReader } from './queries/revenue-cycle.reader';
import { ReadFindingHandler, SearchFindingsHandler } from './queries/search-findings/search-findings.handler';

/**
 * The Revenue Cycle context's commands and queries. Its read models are ViewDefinitions registered with the
 * analytics context at start; its log followers (the duplicate detector and the findings read model) are
 * registered with the projection runner by the composition root. Needs CqrsModule and EventStoreModule.
 */
@Module({
  providers: [
    {
      provide: RevenueCycleReader,
      useFactory: (pool: Pool) => new RevenueCycleReader(pool),
      inject: [PG_POOL],
    },
    RegisterRevenueViews,
    ReviewFindingHandler,
    PatientClaimsHandler,
    CoverageOnDateHandler,
    ClaimsSummaryHandler,
    SearchFindingsHandler,
    ReadFindingHandler,
  ],
})
export class RevenueCycleModule {}
