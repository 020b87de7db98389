import { defaultComparators } from './comparators';
import { FellegiSunterModel } from './fellegi-sunter';
import { OnlineMatcher } from './online-matcher';
import { features, HARLEY, illustrativeParameters } from './testing/fixtures';

const comparators = defaultComparators();
const model = new FellegiSunterModel(comparators, illustrativeParameters(comparators));

const harley = HARLEY;

describe('OnlineMatcher', () => {
  it('founds a golden for a new person and links later records of that person to it', () => {
    const matcher = new OnlineMatcher(model, { newGoldenId: (id) => `G-${id}` });
    const first = matcher.process('a', features(harley));
    expect(first).toMatchObject({ recordId: 'a', goldenId: 'G-a', decision: { outcome: 'NO_MATCH' } });

    const second = matcher.process('b', features({ ...harley, family: 'mccarthey' }));
    expect(second.goldenId).toBe('G-a');
    expect(second.decision.outcome).toBe('MATCH');
    expect(second.decision.matchedRecordId).toBe('a');

    const other = matcher.process(
      'c',
      features({ given: 'kirra', family: 'menzies', birthDate: '1994-09-15' }),
    );
    expect(other.goldenId).toBe('G-c');
    expect(matcher.membersOfGolden('G-a')).toEqual(['a', 'b']);
  });

  it('sees only earlier records: order decides which record founds the golden', () => {
    const matcher = new OnlineMatcher(model);
    matcher.process('dup', features({ ...harley, given: 'haryley' }));
    expect(matcher.process('org', features(harley)).goldenId).toBe('golden-dup');
  });

  it('merges two goldens that a new record matches both of, unless told not to', () => {
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
    };
    const bridge = { ...partA, ...partB };
    for (const mergeGoldens of [true, false]) {
      const matcher = new OnlineMatcher(model, { mergeGoldens });
      matcher.process('a', features({ ...partA, birthDate: '1980-01-01' }));
      matcher.process('b', features({ ...partB, given: 'kayla' }));
      expect(matcher.goldenOf('a')).not.toBe(matcher.goldenOf('b'));
      const result = matcher.process('c', features(bridge));
      expect(result.decision.mergeGoldenIds).toHaveLength(1);
      expect(result.mergedGoldenIds).toEqual(mergeGoldens ? result.decision.mergeGoldenIds : []);
      expect(matcher.goldenOf('a') === matcher.goldenOf('b')).toBe(mergeGoldens);
    }
  });

  it('refuses inconsistent thresholds', () => {
    expect(
      () => new OnlineMatcher(model, { thresholds: { scale: 'weight', match: 0, possibleMatch: 5 } }),
    ).toThrow();
  });
});
