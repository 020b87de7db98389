import { defaultComparators } from './comparators';
import { FellegiSunterModel } from './fellegi-sunter';
import { decide, type MatchCandidate } from './match-decision';
import { features, HARLEY, illustrativeParameters } from './testing/fixtures';
import type { MatchThresholds } from './thresholds';

const comparators = defaultComparators();
const model = new FellegiSunterModel(comparators, illustrativeParameters(comparators));
const thresholds: MatchThresholds = { scale: 'probability', match: 0.99, possibleMatch: 0.5 };

const harley = HARLEY;

const candidate = (
  goldenId: string,
  recordId: string,
  fields: Parameters<typeof features>[0],
): MatchCandidate => ({
  goldenId,
  recordId,
  features: features(fields),
});

describe('decide', () => {
  it('founds a new golden when there is no candidate', () => {
    expect(decide(features(harley), [], model, thresholds)).toEqual({
      outcome: 'NO_MATCH',
      otherGoldens: [],
      mergeGoldenIds: [],
    });
  });

  it('links to the golden of the best-agreeing member and explains the score', () => {
    const decision = decide(
      features(harley),
      [
        candidate('g1', 'r1', { ...harley, given: 'mitchell', birthDate: '1956-04-09' }),
        candidate('g2', 'r2', { ...harley, city: 'granville', postalCode: '9999' }),
        candidate('g2', 'r3', harley),
      ],
      model,
      thresholds,
    );
    expect(decision.outcome).toBe('MATCH');
    expect(decision.goldenId).toBe('g2');
    expect(decision.matchedRecordId).toBe('r3');
    expect(decision.explanation?.comparisons).toContainEqual({
      field: 'birth_date',
      level: 'exact',
      weight: expect.any(Number),
    });
    expect(decision.explanation?.probability).toBeGreaterThan(0.99);
  });

  it('is a possible match on weaker evidence and no match on disagreement', () => {
    const weak = decide(
      features(harley),
      [candidate('g1', 'r1', { given: 'harley', family: 'mccarthy' })],
      model,
      thresholds,
    );
    expect(weak.outcome).toBe('POSSIBLE_MATCH');
    expect(weak.goldenId).toBe('g1');

    const none = decide(
      features(harley),
      [candidate('g1', 'r1', { given: 'kirra', family: 'menzies' })],
      model,
      thresholds,
    );
    expect(none.outcome).toBe('NO_MATCH');
    expect(none.goldenId).toBeUndefined();
    expect(none.explanation?.comparisons.find((c) => c.field === 'family_name')?.level).toBe('different');
  });

  it('proposes merging other goldens the record also matches, and only those', () => {
    const decision = decide(
      features(harley),
      [
        candidate('g1', 'r1', harley),
        candidate('g2', 'r2', { ...harley, city: 'granville' }),
        candidate('g3', 'r3', { given: 'harley', family: 'mccarthy' }),
      ],
      model,
      thresholds,
    );
    expect(decision.goldenId).toBe('g1');
    expect(decision.otherGoldens.map((other) => [other.goldenId, other.outcome])).toEqual([
      ['g2', 'MATCH'],
      ['g3', 'POSSIBLE_MATCH'],
    ]);
    expect(decision.mergeGoldenIds).toEqual(['g2']);
  });
});
