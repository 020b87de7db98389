import { CLAIM_LINE_VIEW } from './claim-line.view';
import { CLAIM_VIEW } from './claim.view';
import { COVERAGE_PERIOD_VIEW, EOB_COVERAGE_PERIOD_VIEW } from './coverage-period.view';
import { CLAIM_RESPONSE_ADJUDICATION_VIEW, EOB_ADJUDICATION_VIEW } from './eob-adjudication.view';

export * from './claim-line.view';
export * from './claim.view';
export * from './coverage-period.view';
export * from './eob-adjudication.view';

/** The context's read models, as SQL on FHIR ViewDefinitions the analytics-views projection materializes. */
export const REVENUE_CYCLE_VIEWS = [
  CLAIM_VIEW,
  CLAIM_LINE_VIEW,
  EOB_ADJUDICATION_VIEW,
  CLAIM_RESPONSE_ADJUDICATION_VIEW,
  COVERAGE_PERIOD_VIEW,
  EOB_COVERAGE_PERIOD_VIEW,
] as const;
