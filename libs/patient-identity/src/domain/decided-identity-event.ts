import { v5 as uuidv5 } from 'uuid';
import {
  DecidedBy,
  GOLDEN_PATIENT_CREATED,
  IdentityEvent,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
  PatientLinkedData,
  PatientUnlinkedData,
} from './identity-events';

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

/**
 * A golden patient of its own for one source patient: GoldenPatientCreated and the PatientLinked (a MATCH) that
 * makes the source patient its first member. The golden id is the decision's id named "golden".
 */
export function newGoldenPatient(
  id: (name: string) => string,
  sourcePatientId: string,
  decidedBy: DecidedBy,
  link: Pick<PatientLinkedData, 'source' | 'manual' | 'rule' | 'causationId'>,
): { goldenId: string; events: DecidedIdentityEvent[] } {
  const goldenId = id('golden');
  return {
    goldenId,
    events: [
      {
        id: id('golden-created'),
        streamGoldenId: goldenId,
        type: GOLDEN_PATIENT_CREATED,
        data: { goldenId, firstSourcePatientId: sourcePatientId, decidedBy },
      },
      {
        id: id('link'),
        streamGoldenId: goldenId,
        type: PATIENT_LINKED,
        data: { goldenId, sourcePatientId, matchResult: 'MATCH', decidedBy, ...link },
      },
    ],
  };
}
