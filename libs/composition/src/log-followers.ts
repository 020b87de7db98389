import { ViewRowsProjection } from '@fa/analytics';
import { ExportJobsProjection } from '@fa/bulk-data';
import { clinicalFollowers } from '@fa/clinical';
import type { EventStore, Projection } from '@fa/event-store';
import { FhirStoreProjection } from '@fa/fhir-store';
import {
  IDENTITY_READ_SCHEMA,
  identityFollowers,
  identityMatcherFromConfig,
  type IdentityMatcher,
} from '@fa/patient-identity';
import { type IdentityConfig, readIdentityConfig } from '@fa/platform';
import { revenueCycleFollowers } from '@fa/revenue-cycle';

export interface LogFollowerOptions {
  /** The Patient Identity matcher (default: the deployment's, from `identity` or the IDENTITY_* settings). */
  identityMatcher?: IdentityMatcher;
  /** The deployment's identity configuration (readConfig().identity); read from the environment when absent. */
  identity?: IdentityConfig;
}

/**
 * Every follower of the log, in one list for every process: the fhir-store read model, then Patient Identity's
 * matcher (a process manager) and its links read model, the Clinical context's fact matcher (a process manager,
 * following the clinical resources and the identity decisions) and its clinical-facts read model, then the
 * materialized SQL on FHIR views, then Revenue Cycle's duplicate-claim detector (a process manager) and its
 * findings read model, then the Bulk Data export jobs read model.
 */
export function logFollowers(store: EventStore, options: LogFollowerOptions = {}): Projection[] {
  const matcher =
    options.identityMatcher ?? identityMatcherFromConfig(options.identity ?? readIdentityConfig());
  return [
    new FhirStoreProjection(),
    ...identityFollowers(store, matcher),
    ...clinicalFollowers(store),
    // Views whose patient key is tagged golden-patient join Patient Identity's links (membership with ranges).
    new ViewRowsProjection(store, { relation: `${IDENTITY_READ_SCHEMA}.links` }),
    ...revenueCycleFollowers(store),
    new ExportJobsProjection(),
  ];
}
