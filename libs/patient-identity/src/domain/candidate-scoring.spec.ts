import { scoreCandidates } from './candidate-scoring';
import { FellegiSunterIdentityMatcher } from './fellegi-sunter-identity-matcher';
import { decideMatching } from './identity-decider';
import { initialSourcePatient } from './identity-state';
import { defaultComparators } from './matching';
import { features, HARLEY, illustrativeParameters } from './matching/testing/fixtures';

const matcher = new FellegiSunterIdentityMatcher(illustrativeParameters(defaultComparators()), {
  scale: 'probability',
  match: 0.99,
  possibleMatch: 0.5,
});
const harley = HARLEY;
const candidate = (goldenId: string, sourcePatientId: string, fields: Parameters<typeof features>[0]) => ({
  goldenId,
  sourcePatientId,
  features: features(fields),
});

describe('scoreCandidates (the real model, as the processor scores)', () => {
  it('scores each golden patient by its best-agreeing member, and explains the score', () => {
    const scored = scoreCandidates(
      matcher,
      features(harley),
      [
        candidate('g1', 'r1', { ...harley, given: 'mitchell', birthDate: '1956-04-09' }),
        candidate('g2', 'r2', { ...harley, family: 'mason', city: 'granville', postalCode: '9999' }),
        { ...candidate('g2', 'r3', harley), blockingKeys: ['full-name:HRL:MKR0', 'phone:1'] },
      ],
      ['full-name:HRL:MKR0', 'birth-date:19080419'],
    );
    const g2 = scored.find((s) => s.goldenId === 'g2')!;
    expect(g2.result).toBe('MATCH');
    expect(g2.explanation.comparedWith).toBe('r3');
    expect(g2.explanation.blockingKeys).toEqual(['full-name:HRL:MKR0']);
    expect(g2.otherMembers).toBe(2);
    expect(g2.explanation.probability).toBeGreaterThan(0.99);
    expect(g2.explanation.comparisons).toContainEqual({
      field: 'birth_date',
      level: 'exact',
      weight: expect.any(Number),
    });
    expect(g2.explanation.weight).toBeGreaterThan(
      scored.find((s) => s.goldenId === 'g1')!.explanation.weight,
    );
  });

  it('is a possible match on weaker evidence and no match on disagreement', () => {
    const [weak] = scoreCandidates(matcher, features(harley), [
      candidate('g1', 'r1', { given: 'harley', family: 'mccarthy' }),
    ]);
    expect(weak.result).toBe('POSSIBLE_MATCH');
    const [none] = scoreCandidates(matcher, features(harley), [
      candidate('g1', 'r1', { given: 'kirra', family: 'menzies' }),
    ]);
    expect(none.result).toBe('NO_MATCH');
    expect(none.explanation.comparisons.find((c) => c.field === 'household')?.level).toBe('different');
  });

  it('a record holding what two golden patients each hold alone MATCHes both; as they disagree, the decider asks a person instead of merging', () => {
    const partA = {
      given: 'harley',
      family: 'mccarthy',
      birthDate: '1908-04-19',
      city: 'marsden',
      ssn: '6089216',
    };
    const partB = {
      given: 'harley',
      family: 'mccarthy',
      birthDate: '1908-04-19',
      postalCode: '3165',
      line: ['177 pridham street'],
      email: 'harley@example.org',
    };
    const a = candidate('ga', 'a', { ...partA, birthDate: '1980-01-01' });
    const b = candidate('gb', 'b', { ...partB, given: 'kayla' });
    expect(scoreCandidates(matcher, a.features, [b])[0].result).not.toBe('MATCH');
    const scored = scoreCandidates(matcher, features({ ...partA, ...partB }), [a, b]);
    expect(scored.map((s) => s.result)).toEqual(['MATCH', 'MATCH']);
    const members = [
      { ...initialSourcePatient('a', 'src'), goldenId: 'ga' },
      { ...initialSourcePatient('b', 'src'), goldenId: 'gb' },
    ];
    const events = decideMatching(
      {
        sourcePatient: () => undefined,
        membersOf: (goldenId) => members.filter((m) => m.goldenId === goldenId),
        conflictsBetween: (x, y) =>
          matcher.conflicts(x === 'a' ? a.features : b.features, y === 'a' ? a.features : b.features, [
            'given_name',
            'birth_date',
          ]),
      },
      {
        kind: 'match-source-patient',
        causationId: 'c-version',
        sourcePatientId: 'c',
        source: 'src',
        scored,
        decidedBy: { kind: 'matcher', version: matcher.version },
      },
    );
    expect(matcher.conflicts(a.features, b.features, ['given_name', 'birth_date'])).toEqual([
      'given_name',
      'birth_date',
    ]);
    expect(events.map((e) => e.type)).toEqual(['PatientLinked', 'LinkReviewRequested']);
  });
});
