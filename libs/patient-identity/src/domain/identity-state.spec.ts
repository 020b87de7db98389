import {
  DecidedBy,
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  IdentityEvent,
  LINK_REVIEW_RESOLVED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from './identity-events';
import {
  bindsMatcher,
  evolveSourcePatient,
  foldGoldenPatient,
  initialSourcePatient,
  SourcePatientState,
} from './identity-state';

const matcher: DecidedBy = { kind: 'matcher', version: 'test/1' };
const reviewer: DecidedBy = { kind: 'reviewer', reviewer: 'dr.review' };
const link = (goldenId: string, sourcePatientId: string, decidedBy: DecidedBy): IdentityEvent => ({
  type: PATIENT_LINKED,
  data: {
    goldenId,
    sourcePatientId,
    source: 's',
    matchResult: 'MATCH',
    manual: decidedBy.kind === 'reviewer',
    rule: 'auto-match',
    decidedBy,
  },
});
const unlink = (
  goldenId: string,
  sourcePatientId: string,
  reason: 'merge' | 'reviewer-no-match',
): IdentityEvent => ({
  type: PATIENT_UNLINKED,
  data: { goldenId, sourcePatientId, reason, decidedBy: reviewer },
});

describe('evolveSourcePatient', () => {
  it('follows links and unlinks, and remembers the golden patients a reviewer said it is not', () => {
    const events: IdentityEvent[] = [
      link('g1', 'x', matcher),
      unlink('g2', 'x', 'merge'), // not where x is: no change
      unlink('g1', 'x', 'reviewer-no-match'),
      link('g9', 'x', reviewer),
      {
        type: LINK_REVIEW_RESOLVED,
        data: { goldenId: 'g4', sourcePatientId: 'x', resolution: 'NO_MATCH', decidedBy: reviewer },
      },
      link('g7', 'someone-else', matcher),
    ];
    const states: SourcePatientState[] = [];
    let state = initialSourcePatient('x', 's');
    for (const event of events) states.push((state = evolveSourcePatient(state, event)));
    expect(states.map((s) => [s.goldenId, s.manual, [...s.notMatching]])).toEqual([
      ['g1', false, []],
      ['g1', false, []],
      [null, false, ['g1']],
      ['g9', true, ['g1']],
      ['g9', true, ['g1', 'g4']],
      ['g9', true, ['g1', 'g4']],
    ]);
    expect(states[5]).toBe(states[4]);
  });

  it("binds the matcher with reviewers' decisions only (its own were folded when it made them)", () => {
    expect(bindsMatcher(link('g1', 'x', reviewer))).toBe(true);
    expect(bindsMatcher(link('g1', 'x', matcher))).toBe(false);
    expect(
      bindsMatcher({
        type: LINK_REVIEW_RESOLVED,
        data: { goldenId: 'g1', sourcePatientId: 'x', resolution: 'MATCH', decidedBy: reviewer },
      }),
    ).toBe(true);
    expect(
      bindsMatcher({
        type: GOLDEN_PATIENT_CREATED,
        data: { goldenId: 'g1', firstSourcePatientId: 'x', decidedBy: reviewer },
      }),
    ).toBe(false);
  });
});

describe('foldGoldenPatient', () => {
  it('rebuilds a golden patient from its stream: created, members in link order, merged', () => {
    const events: IdentityEvent[] = [
      {
        type: GOLDEN_PATIENT_CREATED,
        data: { goldenId: 'g1', firstSourcePatientId: 'a', decidedBy: matcher },
      },
      link('g1', 'a', matcher),
      link('g1', 'b', reviewer),
      link('g1', 'c', matcher),
      unlink('g1', 'a', 'merge'),
    ];
    const live = foldGoldenPatient('g1', events);
    expect(live.created).toBe(true);
    expect([...live.members]).toEqual([
      ['b', { source: 's', manual: true }],
      ['c', { source: 's', manual: false }],
    ]);
    expect(live.mergedInto).toBeUndefined();
    const merged = foldGoldenPatient('g1', [
      ...events,
      {
        type: GOLDEN_PATIENTS_MERGED,
        data: { fromGoldenId: 'g1', intoGoldenId: 'g2', movedSourcePatientIds: [], decidedBy: reviewer },
      },
    ]);
    expect(merged.mergedInto).toBe('g2');
    expect(foldGoldenPatient('g0', []).created).toBe(false);
  });
});
