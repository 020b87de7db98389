import { v5 as uuidv5 } from 'uuid';
import type { DecidedIdentityEvent } from '../decided-identity-event';
import {
  DecidedBy,
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  IdentityEvent,
  LINK_REVIEW_RESOLVED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from '../identity-events';

/** Test data only: identity histories for given/when/then specs of the deciders. */
export const matcher: DecidedBy = { kind: 'matcher', version: 'test/1' };
export const reviewer: DecidedBy = { kind: 'reviewer', reviewer: 'dr.review' };
/** Pinned here, not imported: decision ids are in the permanent log and must never change. */
const NAMESPACE = '0b7c4e0e-2f55-4d8e-9a8f-6c1d3f0f9a11';
export const idOf = (seed: string, name: string) => uuidv5(`${seed}|${name}`, NAMESPACE);

// Given: identity events as the log holds them.
export const created = (goldenId: string, first: string, by: DecidedBy = matcher): IdentityEvent => ({
  type: GOLDEN_PATIENT_CREATED,
  data: { goldenId, firstSourcePatientId: first, decidedBy: by },
});
export const linked = (
  goldenId: string,
  sourcePatientId: string,
  by: DecidedBy = matcher,
): IdentityEvent => ({
  type: PATIENT_LINKED,
  data: {
    goldenId,
    sourcePatientId,
    source: 'hospital-a',
    matchResult: 'MATCH',
    manual: by.kind === 'reviewer',
    rule: by.kind === 'reviewer' ? 'reviewer-match' : 'auto-match',
    decidedBy: by,
  },
});
export const unlinkedByReviewer = (goldenId: string, sourcePatientId: string): IdentityEvent => ({
  type: PATIENT_UNLINKED,
  data: { goldenId, sourcePatientId, reason: 'reviewer-no-match', decidedBy: reviewer },
});
export const resolvedNoMatch = (goldenId: string, sourcePatientId: string): IdentityEvent => ({
  type: LINK_REVIEW_RESOLVED,
  data: { goldenId, sourcePatientId, resolution: 'NO_MATCH', decidedBy: reviewer },
});

export const mergedInto = (fromGoldenId: string, intoGoldenId: string): IdentityEvent => ({
  type: GOLDEN_PATIENTS_MERGED,
  data: { fromGoldenId, intoGoldenId, movedSourcePatientIds: [], decidedBy: reviewer },
});

/** Then: each decided event as [type, stream's golden patient, source patient]. */
export const summary = (events: DecidedIdentityEvent[]) =>
  events.map((e) => [e.type, e.streamGoldenId, 'sourcePatientId' in e.data ? e.data.sourcePatientId : '']);
