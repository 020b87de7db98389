import { GOLDEN_PATIENTS_MERGED, IdentityEvent, PATIENT_LINKED, PATIENT_UNLINKED } from './identity-events';

/**
 * One change of golden membership an identity decision makes: a source patient joins a golden patient, or leaves
 * one. `step`: a link that is one step of a merge (each moved patient is linked, then GoldenPatientsMerged names
 * them all); `merge`: the merge itself, the moved patients joining the golden patient they were merged into.
 */
export type MembershipChange =
  | {
      kind: 'joined';
      sourcePatientId: string;
      goldenId: string;
      by: 'link' | 'merge-step' | 'merge';
    }
  | { kind: 'left'; sourcePatientId: string; goldenId: string };

/**
 * The membership changes of one identity event (none for the others). A `left` counts only from the golden
 * patient the source patient is in: a move unlinks from the old one, then links to the new one.
 */
export function membershipChangesOf(event: IdentityEvent): MembershipChange[] {
  switch (event.type) {
    case PATIENT_LINKED: {
      const { sourcePatientId, goldenId, rule } = event.data;
      return [{ kind: 'joined', sourcePatientId, goldenId, by: rule === 'merge' ? 'merge-step' : 'link' }];
    }
    case PATIENT_UNLINKED: {
      const { sourcePatientId, goldenId } = event.data;
      return [{ kind: 'left', sourcePatientId, goldenId }];
    }
    case GOLDEN_PATIENTS_MERGED:
      return event.data.movedSourcePatientIds.map((sourcePatientId) => ({
        kind: 'joined' as const,
        sourcePatientId,
        goldenId: event.data.intoGoldenId,
        by: 'merge' as const,
      }));
    default:
      return [];
  }
}
