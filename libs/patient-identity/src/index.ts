export * from './domain/identity-events';
export * from './domain/survivorship';
export * from './domain/membership-changes';
export type { IdentityMatcher } from './domain/identity-matcher';
export * from './processor/patient-matching.processor';
export { IDENTITY_NAMESPACE } from './domain/decided-identity-event';
export * from './projections/identity-links.projection';
export type {
  PatientLink,
  IdentityDecision,
  OpenReview,
  LinkCriteria,
  LinkPage,
} from './queries/identity.reader';
export * from './queries/query-links/query-links.query';
export * from './queries/link-history/link-history.query';
export * from './queries/review-queue/review-queue.query';
export * from './queries/golden-patient/golden-patient.query';
export * from './queries/golden-patient-everything/golden-patient-everything.query';
export * from './queries/golden-patient-search/golden-patient-search.query';
export * from './queries/golden-patient-history/golden-patient-history.query';
export * from './queries/fit-identity-model/fit-identity-model.query';
export * from './commands/update-link/update-link.command';
export * from './commands/merge-golden-patients/merge-golden-patients.command';
export * from './domain/identity-command.errors';
export * from './patient-identity.module';
export * from './domain/matching';
export * from './domain/fellegi-sunter-identity-matcher';
export * from './identity-followers';
export * from './identity-config';
