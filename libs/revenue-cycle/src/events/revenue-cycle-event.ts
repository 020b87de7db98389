import { DUPLICATE_CLAIM_DETECTED, type DuplicateClaimDetectedData } from './duplicate-claim-detected.event';
import { DUPLICATE_CLAIM_RESOLVED, type DuplicateClaimResolvedData } from './duplicate-claim-resolved.event';

/** Published language of the Revenue Cycle context: the findings of duplicate-claim detection. */
export type RevenueCycleEvent =
  | { type: typeof DUPLICATE_CLAIM_DETECTED; data: DuplicateClaimDetectedData }
  | { type: typeof DUPLICATE_CLAIM_RESOLVED; data: DuplicateClaimResolvedData };

export const FINDING_STREAM_PREFIX = 'DuplicateClaimFinding-';

export function findingStreamId(findingId: string): string {
  return `${FINDING_STREAM_PREFIX}${findingId}`;
}

/** The Revenue Cycle event a recorded event is, or undefined for any other type. */
export function asRevenueCycleEvent(event: { type: string; data: unknown }): RevenueCycleEvent | undefined {
  return event.type === DUPLICATE_CLAIM_DETECTED || event.type === DUPLICATE_CLAIM_RESOLVED
    ? ({ type: event.type, data: event.data } as RevenueCycleEvent)
    : undefined;
}
