import type { EventStore, Projection } from '@fa/event-store';
import { FhirStoreProjection } from '@fa/fhir-store';
import { identityFollowers, type IdentityMatcher } from '@fa/patient-identity';

export interface LogFollowerOptions {
  /** The Patient Identity matcher (default: the deployment's, from IDENTITY_MODEL or the shipped model). */
  identityMatcher?: IdentityMatcher;
}

/**
 * Every follower of the log, in one list for every process: the fhir-store read model, then Patient Identity's
 * matcher (a process manager) and its links read model.
 */
export function logFollowers(store: EventStore, options: LogFollowerOptions = {}): Projection[] {
  return [new FhirStoreProjection(), ...identityFollowers(store, options.identityMatcher)];
}
