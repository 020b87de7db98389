/**
 * Published language of the Patient Identity context. Every identity decision is an event in the stream of the
 * golden patient it concerns ("PatientIdentity-<goldenId>"), so links as of any instant, and who decided them,
 * can be answered from the log alone.
 */

export const GOLDEN_PATIENT_CREATED = 'GoldenPatientCreated';
export const PATIENT_LINKED = 'PatientLinked';
export const PATIENT_UNLINKED = 'PatientUnlinked';
export const GOLDEN_PATIENTS_MERGED = 'GoldenPatientsMerged';
export const LINK_REVIEW_REQUESTED = 'LinkReviewRequested';
export const LINK_REVIEW_RESOLVED = 'LinkReviewResolved';

export const IDENTITY_EVENT_TYPES = new Set([
  GOLDEN_PATIENT_CREATED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
  GOLDEN_PATIENTS_MERGED,
  LINK_REVIEW_REQUESTED,
  LINK_REVIEW_RESOLVED,
]);

export const IDENTITY_STREAM_PREFIX = 'PatientIdentity-';

export function identityStreamId(goldenId: string): string {
  return `${IDENTITY_STREAM_PREFIX}${goldenId}`;
}

/** MATCH and POSSIBLE_MATCH come from the matcher; a reviewer's decision is MATCH with decidedBy set to them. */
export type MatchResult = 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH';

/** Who made a decision: the online matcher, or a named reviewer through an MDM operation. */
export type DecidedBy = { kind: 'matcher'; version: string } | { kind: 'reviewer'; reviewer: string };

/** One field's part of a score: its agreement level and that level's log2 Bayes factor. */
export interface LinkFieldComparison {
  field: string;
  level: string;
  weight: number;
  /** The agreeing value's frequency, when it weighed an exact name agreement. */
  termFrequency?: number;
}

export interface MatchExplanation {
  /** Sum of field weights plus the prior, in log2 odds. */
  weight: number;
  probability: number;
  comparisons: LinkFieldComparison[];
  /** The source patient the new record was compared with to reach this score. */
  comparedWith?: string;
  /** The blocking keys the two shared, which made that source patient a candidate. */
  blockingKeys?: string[];
}

export interface GoldenPatientCreatedData {
  goldenId: string;
  /** The source patient whose arrival (or separation by a reviewer) created it. */
  firstSourcePatientId: string;
  decidedBy: DecidedBy;
}

export interface PatientLinkedData {
  goldenId: string;
  /** Our id of the source patient (Patient/<id> in the FHIR store). */
  sourcePatientId: string;
  source: string;
  matchResult: 'MATCH' | 'POSSIBLE_MATCH';
  /** Manual links stick: the matcher never moves them. */
  manual: boolean;
  rule: 'new-golden' | 'auto-match' | 'possible-match' | 'reviewer-match' | 'reviewer-no-match' | 'merge';
  explanation?: MatchExplanation;
  decidedBy: DecidedBy;
  /** The event (a source Patient version, or nothing for a reviewer's decision) this decision reacted to. */
  causationId?: string;
}

export interface PatientUnlinkedData {
  goldenId: string;
  sourcePatientId: string;
  reason: 'moved-by-matcher' | 'reviewer-no-match' | 'reviewer-match-elsewhere' | 'merge' | 'source-deleted';
  decidedBy: DecidedBy;
  causationId?: string;
}

export interface GoldenPatientsMergedData {
  fromGoldenId: string;
  intoGoldenId: string;
  movedSourcePatientIds: string[];
  decidedBy: DecidedBy;
}

export interface LinkReviewRequestedData {
  goldenId: string;
  sourcePatientId: string;
  explanation: MatchExplanation;
  /** Other golden patients that also scored as possible matches. */
  alternatives: { goldenId: string; probability: number }[];
  causationId?: string;
}

export interface LinkReviewResolvedData {
  goldenId: string;
  sourcePatientId: string;
  resolution: 'MATCH' | 'NO_MATCH';
  decidedBy: DecidedBy;
}

/** Every identity event, discriminated by type (the shapes above, unchanged: the log is permanent). */
export type IdentityEvent =
  | { type: typeof GOLDEN_PATIENT_CREATED; data: GoldenPatientCreatedData }
  | { type: typeof PATIENT_LINKED; data: PatientLinkedData }
  | { type: typeof PATIENT_UNLINKED; data: PatientUnlinkedData }
  | { type: typeof GOLDEN_PATIENTS_MERGED; data: GoldenPatientsMergedData }
  | { type: typeof LINK_REVIEW_REQUESTED; data: LinkReviewRequestedData }
  | { type: typeof LINK_REVIEW_RESOLVED; data: LinkReviewResolvedData };

/** The identity event a recorded event is, or undefined for any other type. */
export function asIdentityEvent(event: { type: string; data: unknown }): IdentityEvent | undefined {
  return IDENTITY_EVENT_TYPES.has(event.type)
    ? ({ type: event.type, data: event.data } as IdentityEvent)
    : undefined;
}
