import type { FactKind } from '../domain/clinical-fact';

/**
 * Published language of the Clinical context: every decision that two source resources are one clinical fact
 * (or no longer are) is an event in the stream of that pair, "ClinicalFactLink-<linkId>", so which sources said a
 * fact, and since when, is answerable from the log alone.
 */
export const CLINICAL_FACTS_LINKED = 'ClinicalFactsLinked';
export const CLINICAL_FACTS_UNLINKED = 'ClinicalFactsUnlinked';
export const CLINICAL_STREAM_PREFIX = 'ClinicalFactLink-';

export function clinicalLinkStreamId(linkId: string): string {
  return `${CLINICAL_STREAM_PREFIX}${linkId}`;
}

/** One side of a link: a source resource, its source and the source patient it belongs to. */
export interface FactRef {
  resourceType: string;
  id: string;
  source: string;
  patientId: string;
}

export type ClinicalDecidedBy = { kind: 'matcher'; version: number } | { kind: 'reviewer'; reviewer: string };

export interface ClinicalFactsLinkedData {
  linkId: string;
  /** The golden patient both source patients were members of when the link was decided. */
  goldenId: string;
  kind: FactKind;
  facts: [FactRef, FactRef];
  rule: { id: string; reason: string };
  /** Difference of the two clinically relevant times. */
  timeDeltaMs: number;
  decidedBy: ClinicalDecidedBy;
  /** The event (a resource version or an identity decision) this decision reacted to. */
  causationId: string;
}

export type UnlinkReason = 'resource-changed' | 'resource-deleted' | 'patients-separated' | 'reviewer-split';

export interface ClinicalFactsUnlinkedData {
  linkId: string;
  facts: [FactRef, FactRef];
  reason: UnlinkReason;
  /** The rule that no longer holds (resource-changed), and which part of it failed. */
  rule?: { id: string; reason: string; failed: string };
  decidedBy: ClinicalDecidedBy;
  causationId: string;
  /** A reviewer's note. */
  note?: string;
}

/** Every clinical event, discriminated by type. */
export type ClinicalEvent =
  | { type: typeof CLINICAL_FACTS_LINKED; data: ClinicalFactsLinkedData }
  | { type: typeof CLINICAL_FACTS_UNLINKED; data: ClinicalFactsUnlinkedData };

export function asClinicalEvent(event: { type: string; data: unknown }): ClinicalEvent | undefined {
  return event.type === CLINICAL_FACTS_LINKED || event.type === CLINICAL_FACTS_UNLINKED
    ? ({ type: event.type, data: event.data } as ClinicalEvent)
    : undefined;
}

export const refKey = (ref: { resourceType: string; id: string }) => `${ref.resourceType}/${ref.id}`;
