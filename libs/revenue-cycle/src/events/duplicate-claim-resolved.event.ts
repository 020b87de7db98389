/** A finding closed: a reviewer confirmed or dismissed it, or a later version of a claim withdrew it. */
export const DUPLICATE_CLAIM_RESOLVED = 'DuplicateClaimResolved';

export type DuplicateResolution = 'confirmed' | 'dismissed' | 'withdrawn';

export type FindingDecidedBy = { kind: 'detector'; version: string } | { kind: 'reviewer'; reviewer: string };

export interface DuplicateClaimResolvedData {
  findingId: string;
  claim: string;
  duplicateOf: string;
  resolution: DuplicateResolution;
  decidedBy: FindingDecidedBy;
  /** Why (a reviewer's note, or what the re-evaluation found). Never PHI. */
  note?: string;
  causationId?: string;
}
