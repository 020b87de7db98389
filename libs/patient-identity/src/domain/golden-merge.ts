import { DecidedIdentityEvent, unlinked } from './decided-identity-event';
import { DecidedBy, GOLDEN_PATIENTS_MERGED, MatchExplanation, PATIENT_LINKED } from './identity-events';

/**
 * The one merge rule, for the matcher's bridging merges and reviewers' merges alike: every member of
 * `fromGoldenId` leaves it for `intoGoldenId`, and `fromGoldenId` records that it was merged.
 */
export function mergeGoldenPatients(merge: {
  fromGoldenId: string;
  intoGoldenId: string;
  members: readonly { sourcePatientId: string; source: string }[];
  manual: boolean;
  explanation?: MatchExplanation;
  decidedBy: DecidedBy;
  causationId?: string;
  ids: { unlink(sourcePatientId: string): string; link(sourcePatientId: string): string; merged: string };
}): DecidedIdentityEvent[] {
  const { fromGoldenId, intoGoldenId, decidedBy, causationId } = merge;
  const events: DecidedIdentityEvent[] = [];
  for (const moved of merge.members) {
    events.push(
      unlinked(
        merge.ids.unlink(moved.sourcePatientId),
        fromGoldenId,
        moved.sourcePatientId,
        'merge',
        decidedBy,
        causationId,
      ),
      {
        id: merge.ids.link(moved.sourcePatientId),
        streamGoldenId: intoGoldenId,
        type: PATIENT_LINKED,
        data: {
          goldenId: intoGoldenId,
          sourcePatientId: moved.sourcePatientId,
          source: moved.source,
          matchResult: 'MATCH',
          manual: merge.manual,
          rule: 'merge',
          ...(merge.explanation ? { explanation: merge.explanation } : {}),
          decidedBy,
          ...(causationId ? { causationId } : {}),
        },
      },
    );
  }
  events.push({
    id: merge.ids.merged,
    streamGoldenId: fromGoldenId,
    type: GOLDEN_PATIENTS_MERGED,
    data: {
      fromGoldenId,
      intoGoldenId,
      movedSourcePatientIds: merge.members.map((m) => m.sourcePatientId),
      decidedBy,
    },
  });
  return events;
}
