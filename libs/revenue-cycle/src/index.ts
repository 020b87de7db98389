export * from './events';
export * from './domain/claim-fingerprint';
export * from './domain/duplicate-rules';
export { FindingCommandRejected, findingIdOf, type FindingStatus } from './domain/duplicate-decider';
export * from './projections/views';
export {
  DUPLICATE_FINDINGS_PROJECTION,
  REVENUE_CYCLE_READ_SCHEMA,
} from './projections/duplicate-findings.projection';
export { DUPLICATE_CLAIM_DETECTOR } from './processor/duplicate-claim-detection.processor';
export type {
  ClaimWithLines,
  CoveragePeriod,
  ClaimsSummaryRow,
  FindingRow,
} from './queries/revenue-cycle.reader';
export type { PatientScope } from './queries/patient-scope';
export * from './queries/patient-claims/patient-claims.query';
export * from './queries/coverage-on-date/coverage-on-date.query';
export * from './queries/claims-summary/claims-summary.query';
export * from './queries/search-findings/search-findings.query';
export * from './commands/review-finding/review-finding.command';
export * from './revenue-cycle.module';
export * from './revenue-cycle-followers';
export * from './queries/search-findings/detected-issue';
