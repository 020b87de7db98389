import { IdentityCommandRejected } from './identity-command.errors';
import {
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  LINK_REVIEW_RESOLVED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from './identity-events';
import { evolveSourcePatient, foldGoldenPatient, initialSourcePatient } from './identity-state';
import { decideMergeGoldenPatients, decideUpdateLink } from './reviewer-decider';
import { created, idOf, linked, mergedInto, reviewer, summary } from './testing/identity-history';

describe('decideUpdateLink (a reviewer, on the golden patients’ streams)', () => {
  const g1 = foldGoldenPatient('g1', [created('g1', 'a'), linked('g1', 'a'), linked('g1', 'x')]);
  const g2 = foldGoldenPatient('g2', [created('g2', 'b'), linked('g2', 'b')]);
  const command = (goldenId: string, matchResult: 'MATCH' | 'NO_MATCH') => ({
    kind: 'update-link' as const,
    goldenId,
    sourcePatientId: 'x',
    matchResult,
    reviewer: 'dr.review',
    requestId: 'req-1',
  });

  it('MATCH elsewhere moves the source patient for good (manual)', () => {
    const { goldenId, events } = decideUpdateLink({ golden: g2, current: g1 }, command('g2', 'MATCH'));
    expect(goldenId).toBe('g2');
    expect(summary(events)).toEqual([
      [PATIENT_UNLINKED, 'g1', 'x'],
      [PATIENT_LINKED, 'g2', 'x'],
      [LINK_REVIEW_RESOLVED, 'g2', 'x'],
    ]);
    expect(events[1].data).toMatchObject({ manual: true, rule: 'reviewer-match', decidedBy: reviewer });
  });

  it('NO_MATCH of a member separates it into a golden patient of its own', () => {
    const { goldenId, events } = decideUpdateLink({ golden: g1, current: g1 }, command('g1', 'NO_MATCH'));
    expect(goldenId).toBe(idOf('req-1', 'golden'));
    expect(summary(events)).toEqual([
      [PATIENT_UNLINKED, 'g1', 'x'],
      [GOLDEN_PATIENT_CREATED, goldenId, ''],
      [PATIENT_LINKED, goldenId, 'x'],
      [LINK_REVIEW_RESOLVED, 'g1', 'x'],
    ]);
    expect(events[0].data).toMatchObject({ reason: 'reviewer-no-match' });
    // Which the matcher's state remembers: x is never g1 again.
    const after = events.reduce(evolveSourcePatient, initialSourcePatient('x', 'hospital-a'));
    expect([after.goldenId, after.manual, [...after.notMatching]]).toEqual([goldenId, true, ['g1']]);
  });

  it('NO_MATCH of a non-member only records the resolution', () => {
    const { goldenId, events } = decideUpdateLink({ golden: g2, current: g1 }, command('g2', 'NO_MATCH'));
    expect(goldenId).toBe('g1');
    expect(summary(events)).toEqual([[LINK_REVIEW_RESOLVED, 'g2', 'x']]);
  });

  it('refuses unknown or merged golden patients and unlinked source patients', () => {
    const reason = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return (error as IdentityCommandRejected).reason;
      }
      return 'accepted';
    };
    const unknown = foldGoldenPatient('g0', []);
    const merged = foldGoldenPatient('g3', [created('g3', 'c'), mergedInto('g3', 'g1')]);
    expect(reason(() => decideUpdateLink({ golden: unknown, current: g1 }, command('g0', 'MATCH')))).toBe(
      'unknown-golden',
    );
    expect(reason(() => decideUpdateLink({ golden: merged, current: g1 }, command('g3', 'MATCH')))).toBe(
      'golden-merged',
    );
    expect(reason(() => decideUpdateLink({ golden: g2 }, command('g2', 'MATCH')))).toBe(
      'unknown-source-patient',
    );
    expect(reason(() => decideUpdateLink({ golden: g2, current: g2 }, command('g2', 'MATCH')))).toBe(
      'unknown-source-patient',
    );
    expect(reason(() => decideUpdateLink({ golden: g2, current: g1 }, command('g2', 'MATCH')))).toBe(
      'accepted',
    );
  });
});

describe('decideMergeGoldenPatients (a reviewer)', () => {
  const g1 = foldGoldenPatient('g1', [created('g1', 'a'), linked('g1', 'a')]);
  const g2 = foldGoldenPatient('g2', [created('g2', 'c'), linked('g2', 'c'), linked('g2', 'b')]);
  const command = (fromGoldenId: string, intoGoldenId: string) => ({
    kind: 'merge-golden-patients' as const,
    fromGoldenId,
    intoGoldenId,
    reviewer: 'dr.review',
    requestId: 'req-2',
  });

  it('moves every member of one golden patient into the other, manually, with the same rule as the matcher', () => {
    const { moved, events } = decideMergeGoldenPatients({ from: g2, into: g1 }, command('g2', 'g1'));
    expect(moved).toEqual(['b', 'c']);
    expect(summary(events)).toEqual([
      [PATIENT_UNLINKED, 'g2', 'b'],
      [PATIENT_LINKED, 'g1', 'b'],
      [PATIENT_UNLINKED, 'g2', 'c'],
      [PATIENT_LINKED, 'g1', 'c'],
      [GOLDEN_PATIENTS_MERGED, 'g2', ''],
    ]);
    expect(events[1].data).toMatchObject({ manual: true, rule: 'merge', decidedBy: reviewer });
    expect(events[1].data).not.toHaveProperty('causationId');
    const folded = foldGoldenPatient('g2', [
      created('g2', 'c'),
      linked('g2', 'c'),
      linked('g2', 'b'),
      ...events,
    ]);
    expect([folded.mergedInto, folded.members.size]).toEqual(['g1', 0]);
  });

  it('refuses a merge into itself, and unknown or already merged golden patients', () => {
    const merged = foldGoldenPatient('g3', [created('g3', 'c'), mergedInto('g3', 'g1')]);
    expect(() => decideMergeGoldenPatients({ from: g1, into: g1 }, command('g1', 'g1'))).toThrow(/itself/);
    expect(() =>
      decideMergeGoldenPatients({ from: foldGoldenPatient('g0', []), into: g1 }, command('g0', 'g1')),
    ).toThrow(/not a golden patient/);
    expect(() => decideMergeGoldenPatients({ from: g2, into: merged }, command('g2', 'g3'))).toThrow(
      /merged into/,
    );
  });
});
