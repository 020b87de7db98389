import type { EventStore, Projection } from '@fa/event-store';
import { DuplicateClaimDetectionProcessor } from './processor/duplicate-claim-detection.processor';
import { DuplicateFindingsProjection } from './projections/duplicate-findings.projection';

/** The context's log followers: the detector that decides, and the read model that records its findings. */
export function revenueCycleFollowers(store: EventStore): Projection[] {
  return [new DuplicateClaimDetectionProcessor(store), new DuplicateFindingsProjection()];
}
