import { v5 as uuidv5 } from 'uuid';
import { IdentityCommandRejected } from './identity-command.errors';
import {
  DecidedIdentityEvent,
  decideMatching,
  decideMergeGoldenPatients,
  decideUpdateLink,
  IDENTITY_NAMESPACE,
  MatchingCommand,
  MatchingState,
} from './identity-decider';
import {
  DecidedBy,
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  IdentityEvent,
  LINK_REVIEW_REQUESTED,
  LINK_REVIEW_RESOLVED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from './identity-events';
import {
  evolveSourcePatient,
  foldGoldenPatient,
  initialSourcePatient,
  SourcePatientState,
} from './identity-state';
import type { ScoredGolden } from './link-decision';

const matcher: DecidedBy = { kind: 'matcher', version: 'test/1' };
const reviewer: DecidedBy = { kind: 'reviewer', reviewer: 'dr.review' };
const idOf = (seed: string, name: string) => uuidv5(`${seed}|${name}`, IDENTITY_NAMESPACE);

// Given: identity events as the log holds them.
const created = (goldenId: string, first: string, by: DecidedBy = matcher): IdentityEvent => ({
  type: GOLDEN_PATIENT_CREATED,
  data: { goldenId, firstSourcePatientId: first, decidedBy: by },
});
const linked = (goldenId: string, sourcePatientId: string, by: DecidedBy = matcher): IdentityEvent => ({
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
const unlinkedByReviewer = (goldenId: string, sourcePatientId: string): IdentityEvent => ({
  type: PATIENT_UNLINKED,
  data: { goldenId, sourcePatientId, reason: 'reviewer-no-match', decidedBy: reviewer },
});
const resolvedNoMatch = (goldenId: string, sourcePatientId: string): IdentityEvent => ({
  type: LINK_REVIEW_RESOLVED,
  data: { goldenId, sourcePatientId, resolution: 'NO_MATCH', decidedBy: reviewer },
});

/** The matcher's state rebuilt from the log, one source patient at a time (evolve). */
function matcherState(history: IdentityEvent[]): MatchingState {
  const patients = new Map<string, SourcePatientState>();
  for (const event of history) {
    if (!('sourcePatientId' in event.data)) continue;
    const { sourcePatientId } = event.data;
    const before = patients.get(sourcePatientId) ?? initialSourcePatient(sourcePatientId, 'hospital-a');
    patients.set(sourcePatientId, evolveSourcePatient(before, event));
  }
  return {
    sourcePatient: (id) => patients.get(id),
    membersOf: (goldenId) => [...patients.values()].filter((p) => p.goldenId === goldenId),
  };
}

const score = (goldenId: string, result: ScoredGolden['result'], weight: number, otherMembers = 1) => ({
  goldenId,
  result,
  otherMembers,
  explanation: { weight, probability: 1 / (1 + 2 ** -weight), comparisons: [] },
});

const version = (sourcePatientId: string, scored: ScoredGolden[]): MatchingCommand => ({
  kind: 'match-source-patient',
  causationId: `version-of-${sourcePatientId}`,
  sourcePatientId,
  source: 'clinic-b',
  scored,
  decidedBy: matcher,
});

/** Given a history, when a command is decided, then these events (type, stream, and the data that matters). */
function when(history: IdentityEvent[], command: MatchingCommand): DecidedIdentityEvent[] {
  return decideMatching(matcherState(history), command);
}
const summary = (events: DecidedIdentityEvent[]) =>
  events.map((e) => [e.type, e.streamGoldenId, 'sourcePatientId' in e.data ? e.data.sourcePatientId : '']);

describe('decideMatching (the matcher)', () => {
  it('no match: the source patient gets a golden patient of its own, with deterministic ids', () => {
    for (const scored of [[], [score('g1', 'NO_MATCH', -5)]]) {
      const events = when([created('g1', 'a'), linked('g1', 'a')], version('x', scored));
      const golden = idOf('version-of-x', 'golden');
      expect(summary(events)).toEqual([
        [GOLDEN_PATIENT_CREATED, golden, ''],
        [PATIENT_LINKED, golden, 'x'],
      ]);
      expect(events.map((e) => e.id)).toEqual([
        idOf('version-of-x', 'golden-created'),
        idOf('version-of-x', 'link'),
      ]);
      expect(events[1].data).toMatchObject({ rule: 'new-golden', matchResult: 'MATCH', manual: false });
    }
  });

  it('match: links automatically to the best-scoring golden patient, explained', () => {
    const events = when(
      [created('g1', 'a'), linked('g1', 'a'), created('g2', 'b'), linked('g2', 'b')],
      version('x', [score('g1', 'POSSIBLE_MATCH', 2), score('g2', 'MATCH', 12)]),
    );
    expect(summary(events)).toEqual([[PATIENT_LINKED, 'g2', 'x']]);
    expect(events[0].data).toMatchObject({
      matchResult: 'MATCH',
      rule: 'auto-match',
      manual: false,
      source: 'clinic-b',
      decidedBy: matcher,
      causationId: 'version-of-x',
      explanation: { weight: 12 },
    });
  });

  it('possible match: links provisionally and asks for review, naming the alternatives', () => {
    const events = when(
      [created('g1', 'a'), linked('g1', 'a'), created('g2', 'b'), linked('g2', 'b')],
      version('x', [score('g1', 'POSSIBLE_MATCH', 3), score('g2', 'POSSIBLE_MATCH', 1)]),
    );
    expect(summary(events)).toEqual([
      [PATIENT_LINKED, 'g1', 'x'],
      [LINK_REVIEW_REQUESTED, 'g1', 'x'],
    ]);
    expect(events[0].data).toMatchObject({ matchResult: 'POSSIBLE_MATCH', rule: 'possible-match' });
    expect(events[1].data).toMatchObject({ alternatives: [{ goldenId: 'g2' }] });
  });

  it('two-golden merge: a record that MATCHes two golden patients bridges them', () => {
    const history = [
      created('g1', 'a'),
      linked('g1', 'a'),
      created('g2', 'b'),
      linked('g2', 'b'),
      linked('g2', 'c'),
    ];
    const events = when(history, version('x', [score('g2', 'MATCH', 15), score('g1', 'MATCH', 20)]));
    expect(summary(events)).toEqual([
      [PATIENT_LINKED, 'g1', 'x'],
      [PATIENT_UNLINKED, 'g2', 'b'],
      [PATIENT_LINKED, 'g1', 'b'],
      [PATIENT_UNLINKED, 'g2', 'c'],
      [PATIENT_LINKED, 'g1', 'c'],
      [GOLDEN_PATIENTS_MERGED, 'g2', ''],
    ]);
    expect(events[2].data).toMatchObject({ rule: 'merge', manual: false, explanation: { weight: 15 } });
    expect(events[5].data).toEqual({
      fromGoldenId: 'g2',
      intoGoldenId: 'g1',
      movedSourcePatientIds: ['b', 'c'],
      decidedBy: matcher,
    });
    expect(events[5].id).toBe(idOf('version-of-x', 'merged|g2'));
  });

  it('merges only what MATCHes, and never a golden patient holding a reviewer decision', () => {
    const base = [created('g1', 'a'), linked('g1', 'a'), created('g2', 'b'), linked('g2', 'b')];
    const onlyPossible = when(
      base,
      version('x', [score('g1', 'MATCH', 20), score('g2', 'POSSIBLE_MATCH', 2)]),
    );
    expect(summary(onlyPossible)).toEqual([[PATIENT_LINKED, 'g1', 'x']]);

    const both = [score('g1', 'MATCH', 20), score('g2', 'MATCH', 15)];
    const manualMember = when([...base, linked('g2', 'm', reviewer)], version('x', both));
    expect(summary(manualMember)).toEqual([[PATIENT_LINKED, 'g1', 'x']]);
    const memberSaidNotG1 = when([...base, resolvedNoMatch('g1', 'b')], version('x', both));
    expect(summary(memberSaidNotG1)).toEqual([[PATIENT_LINKED, 'g1', 'x']]);
    const recordSaidNotG2 = when([...base, resolvedNoMatch('g2', 'x')], version('x', both));
    expect(summary(recordSaidNotG2)).toEqual([[PATIENT_LINKED, 'g1', 'x']]);
  });

  it("a reviewer's NO_MATCH holds: the matcher never moves a reviewer's decision back", () => {
    const separated = [
      created('g1', 'a'),
      linked('g1', 'a'),
      linked('g1', 'x'),
      unlinkedByReviewer('g1', 'x'),
      created('g9', 'x', reviewer),
      { ...linked('g9', 'x', reviewer) },
    ];
    // A new version of x that matches g1 again: x stays where the reviewer put it.
    expect(when(separated, version('x', [score('g1', 'MATCH', 30), score('g9', 'NO_MATCH', -2)]))).toEqual(
      [],
    );
    // Unplaced (its golden was deleted away): still never g1, so it gets a golden of its own.
    const unplaced = [...separated, { ...unlinkedByReviewer('g9', 'x') }];
    const events = when(unplaced, version('x', [score('g1', 'MATCH', 30)]));
    expect(summary(events).map(([type]) => type)).toEqual([GOLDEN_PATIENT_CREATED, PATIENT_LINKED]);
    expect(events[0].streamGoldenId).not.toBe('g1');
  });

  it('re-matching a new version: it moves when it now matches elsewhere only', () => {
    const history = [
      created('g1', 'a'),
      linked('g1', 'a'),
      linked('g1', 'x'),
      created('g2', 'b'),
      linked('g2', 'b'),
    ];
    const moved = when(history, version('x', [score('g1', 'NO_MATCH', -3), score('g2', 'MATCH', 15)]));
    expect(summary(moved)).toEqual([
      [PATIENT_UNLINKED, 'g1', 'x'],
      [PATIENT_LINKED, 'g2', 'x'],
    ]);
    expect(moved[0].data).toMatchObject({ reason: 'moved-by-matcher', decidedBy: matcher });
    // Still a match where it is: it stays, even if another golden patient scores higher.
    expect(when(history, version('x', [score('g1', 'MATCH', 10), score('g2', 'MATCH', 15)]))).toEqual([]);
  });

  it('re-matching a new version: it leaves a shared golden patient it no longer resembles; alone it stays', () => {
    const shared = [created('g1', 'a'), linked('g1', 'a'), linked('g1', 'x')];
    const left = when(shared, version('x', [score('g1', 'NO_MATCH', -8, 2)]));
    expect(summary(left).map(([type, stream]) => [type, stream === 'g1'])).toEqual([
      [PATIENT_UNLINKED, true],
      [GOLDEN_PATIENT_CREATED, false],
      [PATIENT_LINKED, false],
    ]);
    expect(when([created('g1', 'x'), linked('g1', 'x')], version('x', []))).toEqual([]);
  });

  it('a source patient deleted at its source leaves its golden patient', () => {
    const forget = (sourcePatientId: string): MatchingCommand => ({
      kind: 'forget-source-patient',
      causationId: 'deleted',
      sourcePatientId,
      decidedBy: matcher,
    });
    const events = when([created('g1', 'a'), linked('g1', 'a')], forget('a'));
    expect(summary(events)).toEqual([[PATIENT_UNLINKED, 'g1', 'a']]);
    expect(events[0].data).toMatchObject({ reason: 'source-deleted', causationId: 'deleted' });
    expect(when([], forget('unknown'))).toEqual([]);
  });
});

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
    const merged = foldGoldenPatient('g3', [
      created('g3', 'c'),
      {
        type: GOLDEN_PATIENTS_MERGED,
        data: { fromGoldenId: 'g3', intoGoldenId: 'g1', movedSourcePatientIds: [], decidedBy: reviewer },
      },
    ]);
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
    const merged = foldGoldenPatient('g3', [
      created('g3', 'c'),
      {
        type: GOLDEN_PATIENTS_MERGED,
        data: { fromGoldenId: 'g3', intoGoldenId: 'g1', movedSourcePatientIds: [], decidedBy: reviewer },
      },
    ]);
    expect(() => decideMergeGoldenPatients({ from: g1, into: g1 }, command('g1', 'g1'))).toThrow(/itself/);
    expect(() =>
      decideMergeGoldenPatients({ from: foldGoldenPatient('g0', []), into: g1 }, command('g0', 'g1')),
    ).toThrow(/not a golden patient/);
    expect(() => decideMergeGoldenPatients({ from: g2, into: merged }, command('g2', 'g3'))).toThrow(
      /merged into/,
    );
  });
});
