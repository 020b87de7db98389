import type { EventStore, Projection } from '@fa/event-store';
import { FactMatchingProcessor } from './processor/fact-matching.processor';
import { FactLinksProjection } from './projections/fact-links.projection';

/** The context's two log followers: the matcher that decides, and the read model that records its decisions. */
export function clinicalFollowers(store: EventStore): Projection[] {
  return [new FactMatchingProcessor(store), new FactLinksProjection()];
}
