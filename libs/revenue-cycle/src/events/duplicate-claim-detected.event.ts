import type { DuplicateKind, DuplicateRule } from '../domain/duplicate-rules';

/** A claim found to duplicate another of the same golden patient, in stream `DuplicateClaimFinding-<findingId>`. */
export const DUPLICATE_CLAIM_DETECTED = 'DuplicateClaimDetected';

export interface DuplicateClaimDetectedData {
  /** UUIDv5 of the two claim ids (sorted): the same pair always has the same finding. */
  findingId: string;
  /** Our id of the claim that duplicates (the later one). */
  claim: string;
  /** Our id of the claim it duplicates. */
  duplicateOf: string;
  kind: DuplicateKind;
  rule: DuplicateRule;
  matchedFields: string[];
  goldenPatientId: string;
  /** The source patients of the two claims (the same golden patient). */
  sourcePatientIds: string[];
  /** First day of service of the claim (YYYY-MM-DD). */
  serviceDate: string;
  /** The Claim version (or identity decision) whose arrival this finding reacted to. */
  causationId: string;
}
