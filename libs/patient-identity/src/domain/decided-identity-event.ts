import { v5 as uuidv5 } from 'uuid';
import { DecidedBy, IdentityEvent, PATIENT_UNLINKED, PatientUnlinkedData } from './identity-events';

/** Namespace of golden patient ids and decision event ids (UUIDv5): replays and retries decide the same ids. */
export const IDENTITY_NAMESPACE = '0b7c4e0e-2f55-4d8e-9a8f-6c1d3f0f9a11';

/** A decision: an identity event, its deterministic id, and the golden patient whose stream it goes to. */
export type DecidedIdentityEvent = IdentityEvent & { id: string; streamGoldenId: string };

/** Deterministic ids of one decision's events, from what caused it (a recorded version or a request id). */
export function decisionIds(seed: string): (name: string) => string {
  return (name) => uuidv5(`${seed}|${name}`, IDENTITY_NAMESPACE);
}

export function unlinked(
  id: string,
  goldenId: string,
  sourcePatientId: string,
  reason: PatientUnlinkedData['reason'],
  decidedBy: DecidedBy,
  causationId?: string,
): DecidedIdentityEvent {
  return {
    id,
    streamGoldenId: goldenId,
    type: PATIENT_UNLINKED,
    data: { goldenId, sourcePatientId, reason, decidedBy, ...(causationId ? { causationId } : {}) },
  };
}
