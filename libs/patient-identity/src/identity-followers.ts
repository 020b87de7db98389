import type { EventStore, Projection } from '@fa/event-store';
import type { IdentityMatcher } from './domain/identity-matcher';
import { PatientMatchingProcessor } from './processor/patient-matching.processor';
import { IdentityLinksProjection } from './projections/identity-links.projection';

/**
 * The context's two log followers: the matcher that decides, and the projection that records decisions. The
 * deployment's matcher comes from its configuration: identityMatcherFromConfig(readConfig().identity).
 */
export function identityFollowers(store: EventStore, matcher: IdentityMatcher): Projection[] {
  return [new PatientMatchingProcessor(matcher, store), new IdentityLinksProjection()];
}
