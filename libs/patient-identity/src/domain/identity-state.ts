import {
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  IdentityEvent,
  LINK_REVIEW_RESOLVED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from './identity-events';

/**
 * What the identity decisions say about one source patient: where it belongs, whether a reviewer put it there,
 * and the golden patients a reviewer said it is not. The matcher's state, folded from identity events.
 */
export interface SourcePatientState {
  readonly sourcePatientId: string;
  readonly source: string;
  readonly goldenId: string | null;
  /** A reviewer's (or a merge's) link: the matcher never moves it. */
  readonly manual: boolean;
  /** Linked as a POSSIBLE_MATCH awaiting review: evidence for its golden patient only as strong as that link. */
  readonly provisional?: boolean;
  readonly notMatching: ReadonlySet<string>;
}

export function initialSourcePatient(sourcePatientId: string, source: string): SourcePatientState {
  return { sourcePatientId, source, goldenId: null, manual: false, notMatching: new Set() };
}

/** Emmett's evolve for a source patient: the state after one identity event about it. */
export function evolveSourcePatient(state: SourcePatientState, event: IdentityEvent): SourcePatientState {
  switch (event.type) {
    case PATIENT_LINKED:
      if (event.data.sourcePatientId !== state.sourcePatientId) return state;
      const provisional = event.data.matchResult === 'POSSIBLE_MATCH';
      if (
        state.goldenId === event.data.goldenId &&
        state.manual === event.data.manual &&
        Boolean(state.provisional) === provisional
      )
        return state;
      return { ...state, goldenId: event.data.goldenId, manual: event.data.manual, provisional };
    case PATIENT_UNLINKED: {
      if (event.data.sourcePatientId !== state.sourcePatientId) return state;
      const unlinked =
        state.goldenId === event.data.goldenId
          ? { ...state, goldenId: null, manual: false, provisional: false }
          : state;
      return event.data.reason === 'reviewer-no-match'
        ? withNotMatching(unlinked, event.data.goldenId)
        : unlinked;
    }
    case LINK_REVIEW_RESOLVED:
      if (event.data.sourcePatientId !== state.sourcePatientId) return state;
      if (event.data.resolution === 'NO_MATCH') return withNotMatching(state, event.data.goldenId);
      return state.goldenId === event.data.goldenId ? { ...state, provisional: false } : state;
    default:
      return state;
  }
}

function withNotMatching(state: SourcePatientState, goldenId: string): SourcePatientState {
  if (state.notMatching.has(goldenId)) return state;
  return { ...state, notMatching: new Set([...state.notMatching, goldenId]) };
}

/**
 * The matcher follows reviewers' decisions from the log; its own were folded into its state when it made them
 * (folding them again when they come back through the log would undo later decisions).
 */
export function bindsMatcher(event: IdentityEvent): boolean {
  switch (event.type) {
    case PATIENT_LINKED:
    case PATIENT_UNLINKED:
      return event.data.decidedBy.kind === 'reviewer';
    case LINK_REVIEW_RESOLVED:
      return true;
    default:
      return false;
  }
}

/** One golden patient as its own stream (PatientIdentity-<goldenId>) tells it: what reviewers decide on. */
export interface GoldenPatientState {
  readonly goldenId: string;
  readonly created: boolean;
  readonly mergedInto?: string;
  /** Linked source patients, in the order they were linked. */
  readonly members: ReadonlyMap<string, { readonly source: string; readonly manual: boolean }>;
}

export function initialGoldenPatient(goldenId: string): GoldenPatientState {
  return { goldenId, created: false, members: new Map() };
}

/** Emmett's evolve for a golden patient's stream. */
export function evolveGoldenPatient(state: GoldenPatientState, event: IdentityEvent): GoldenPatientState {
  switch (event.type) {
    case GOLDEN_PATIENT_CREATED:
      return event.data.goldenId === state.goldenId ? { ...state, created: true } : state;
    case PATIENT_LINKED: {
      if (event.data.goldenId !== state.goldenId) return state;
      const members = new Map(state.members);
      members.set(event.data.sourcePatientId, { source: event.data.source, manual: event.data.manual });
      return { ...state, members };
    }
    case PATIENT_UNLINKED: {
      if (event.data.goldenId !== state.goldenId || !state.members.has(event.data.sourcePatientId))
        return state;
      const members = new Map(state.members);
      members.delete(event.data.sourcePatientId);
      return { ...state, members };
    }
    case GOLDEN_PATIENTS_MERGED:
      return event.data.fromGoldenId === state.goldenId
        ? { ...state, mergedInto: event.data.intoGoldenId }
        : state;
    default:
      return state;
  }
}

export function foldGoldenPatient(goldenId: string, events: readonly IdentityEvent[]): GoldenPatientState {
  return events.reduce(evolveGoldenPatient, initialGoldenPatient(goldenId));
}
