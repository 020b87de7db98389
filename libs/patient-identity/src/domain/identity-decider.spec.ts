import { decideMatching, MatchingCommand, MatchingState } from './identity-decider';
import type { DecidedIdentityEvent } from './decided-identity-event';
import {
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  IdentityEvent,
  LINK_REVIEW_REQUESTED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from './identity-events';
import { evolveSourcePatient, initialSourcePatient, SourcePatientState } from './identity-state';
import type { ScoredGolden } from './link-decision';
import {
  created,
  idOf,
  linked,
  matcher,
  resolvedNoMatch,
  reviewer,
  summary,
  unlinkedByReviewer,
} from './testing/identity-history';

/** The matcher's state rebuilt from the log, one source patient at a time (evolve). */
function matcherState(history: IdentityEvent[], conflicting: [string, string][] = []): MatchingState {
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
    conflictsBetween: (a, b) =>
      conflicting.some(([x, y]) => (x === a && y === b) || (x === b && y === a)) ? ['birth_date'] : [],
  };
}

/** Compared on every discriminating field unless `missing` names some. */
const score = (
  goldenId: string,
  result: ScoredGolden['result'],
  weight: number,
  otherMembers = 1,
  missing: string[] = [],
) => ({
  goldenId,
  result,
  otherMembers,
  explanation: {
    weight,
    probability: 1 / (1 + 2 ** -weight),
    comparisons: ['given_name', 'birth_date'].map((field) => ({
      field,
      level: missing.includes(field) ? 'missing' : 'exact',
      weight: missing.includes(field) ? 0 : 5,
    })),
  },
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
function when(
  history: IdentityEvent[],
  command: MatchingCommand,
  conflicting: [string, string][] = [],
): DecidedIdentityEvent[] {
  return decideMatching(matcherState(history, conflicting), command);
}
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

  it('safe merges: golden patients whose members disagree on a discriminating field are not merged; a person is asked', () => {
    const history = [created('g1', 'a'), linked('g1', 'a'), created('g2', 'b'), linked('g2', 'b')];
    const both = [score('g1', 'MATCH', 20), score('g2', 'MATCH', 15)];
    // Twins: one record matches both, but a and b disagree outright on the birth date.
    const events = when(history, version('x', both), [['a', 'b']]);
    expect(summary(events)).toEqual([
      [PATIENT_LINKED, 'g1', 'x'],
      [LINK_REVIEW_REQUESTED, 'g2', 'x'],
    ]);
    expect(events[1].data).toMatchObject({
      goldenId: 'g2',
      sourcePatientId: 'x',
      explanation: { weight: 15 },
      alternatives: [{ goldenId: 'g1' }],
    });
    expect(events[1].id).toBe(idOf('version-of-x', 'bridge-review|g2'));
    // The same record without a conflict among the members merges.
    expect(summary(when(history, version('x', both))).map((e) => e[0])).toContain(GOLDEN_PATIENTS_MERGED);
  });

  it('a record missing a discriminating field never bridges two golden patients automatically', () => {
    const history = [created('g1', 'a'), linked('g1', 'a'), created('g2', 'b'), linked('g2', 'b')];
    for (const scored of [
      [score('g1', 'MATCH', 20, 1, ['birth_date']), score('g2', 'MATCH', 15, 1, ['birth_date'])],
      [score('g1', 'MATCH', 20), score('g2', 'MATCH', 15, 1, ['given_name'])],
    ]) {
      expect(summary(when(history, version('x', scored)))).toEqual([
        [PATIENT_LINKED, 'g1', 'x'],
        [LINK_REVIEW_REQUESTED, 'g2', 'x'],
      ]);
    }
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
