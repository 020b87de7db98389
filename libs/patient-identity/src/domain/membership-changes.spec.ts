import {
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  LINK_REVIEW_REQUESTED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from './identity-events';
import { membershipChangesOf } from './membership-changes';

const matcher = { kind: 'matcher', version: '1' } as const;

describe('membershipChangesOf', () => {
  it('a link joins the source patient to its golden patient', () => {
    expect(
      membershipChangesOf({
        type: PATIENT_LINKED,
        data: {
          goldenId: 'g1',
          sourcePatientId: 'p1',
          source: 'a',
          matchResult: 'MATCH',
          manual: false,
          rule: 'auto-match',
          decidedBy: matcher,
        },
      }),
    ).toEqual([{ kind: 'joined', sourcePatientId: 'p1', goldenId: 'g1', by: 'link' }]);
  });

  it("a merge's links are steps of the merge", () => {
    expect(
      membershipChangesOf({
        type: PATIENT_LINKED,
        data: {
          goldenId: 'g2',
          sourcePatientId: 'p1',
          source: 'a',
          matchResult: 'MATCH',
          manual: true,
          rule: 'merge',
          decidedBy: { kind: 'reviewer', reviewer: 'r' },
        },
      }),
    ).toEqual([{ kind: 'joined', sourcePatientId: 'p1', goldenId: 'g2', by: 'merge-step' }]);
  });

  it('an unlink makes the source patient leave the golden patient it names', () => {
    expect(
      membershipChangesOf({
        type: PATIENT_UNLINKED,
        data: { goldenId: 'g1', sourcePatientId: 'p1', reason: 'moved-by-matcher', decidedBy: matcher },
      }),
    ).toEqual([{ kind: 'left', sourcePatientId: 'p1', goldenId: 'g1' }]);
  });

  it('a merge moves every moved source patient into the surviving golden patient', () => {
    expect(
      membershipChangesOf({
        type: GOLDEN_PATIENTS_MERGED,
        data: {
          fromGoldenId: 'g1',
          intoGoldenId: 'g2',
          movedSourcePatientIds: ['p1', 'p3'],
          decidedBy: { kind: 'reviewer', reviewer: 'r' },
        },
      }),
    ).toEqual([
      { kind: 'joined', sourcePatientId: 'p1', goldenId: 'g2', by: 'merge' },
      { kind: 'joined', sourcePatientId: 'p3', goldenId: 'g2', by: 'merge' },
    ]);
  });

  it('other identity decisions change no membership', () => {
    expect(
      membershipChangesOf({
        type: GOLDEN_PATIENT_CREATED,
        data: { goldenId: 'g1', firstSourcePatientId: 'p1', decidedBy: matcher },
      }),
    ).toEqual([]);
    expect(
      membershipChangesOf({
        type: LINK_REVIEW_REQUESTED,
        data: {
          goldenId: 'g1',
          sourcePatientId: 'p1',
          explanation: { weight: 1, probability: 0.5, comparisons: [] },
          alternatives: [],
        },
      }),
    ).toEqual([]);
  });
});
