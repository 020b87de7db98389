import { birthDateComparator, familyNameComparator } from './comparators';
import {
  FellegiSunterModel,
  log2BayesFactor,
  probabilityOfWeight,
  weightOfProbability,
} from './fellegi-sunter';
import { features } from './testing/fixtures';

describe('FellegiSunterModel', () => {
  const comparators = [familyNameComparator(), birthDateComparator()];
  const model = new FellegiSunterModel(comparators, {
    priorMatchProbability: 1 / 1025,
    fields: [
      {
        field: 'family_name',
        levels: comparators[0].levels,
        m: [0.8, 0.1, 0.04, 0.03, 0.03],
        u: [0.01, 0.01, 0.02, 0.06, 0.9],
      },
      {
        field: 'birth_date',
        levels: comparators[1].levels,
        m: [0.9, 0.02, 0.04, 0.02, 0.02],
        u: [0.0009, 0.0001, 0.001, 0.01, 0.9879],
      },
    ],
  });

  it('adds log2 Bayes factors to the prior log-odds and explains each field', () => {
    const score = model.score(
      features({ family: 'green', birthDate: '1956-04-09' }),
      features({ family: 'green', birthDate: '1956-04-09' }),
    );
    expect(score.priorWeight).toBeCloseTo(-10, 10);
    expect(score.comparisons).toEqual([
      { field: 'family_name', level: 'exact', weight: log2BayesFactor(0.8, 0.01) },
      { field: 'birth_date', level: 'exact', weight: log2BayesFactor(0.9, 0.0009) },
    ]);
    expect(score.weight).toBeCloseTo(-10 + Math.log2(80) + Math.log2(1000), 10);
    expect(score.probability).toBeCloseTo(probabilityOfWeight(score.weight), 12);
  });

  it('gives a missing field no weight', () => {
    const score = model.score(
      features({ family: 'green' }),
      features({ family: 'mason', birthDate: '1956-04-09' }),
    );
    expect(score.comparisons[1]).toEqual({ field: 'birth_date', level: null, weight: 0 });
    expect(score.weight).toBeCloseTo(-10 + Math.log2(0.03 / 0.9), 10);
  });

  it('rejects parameters that do not fit its comparators', () => {
    expect(() => new FellegiSunterModel(comparators, { priorMatchProbability: 0.1, fields: [] })).toThrow();
    expect(
      () =>
        new FellegiSunterModel([comparators[0]], {
          priorMatchProbability: 0.1,
          fields: [{ field: 'family_name', levels: ['exact'], m: [1], u: [1] }],
        }),
    ).toThrow(/family_name/);
  });

  it('converts between probability and weight', () => {
    expect(probabilityOfWeight(0)).toBe(0.5);
    expect(weightOfProbability(probabilityOfWeight(6.5))).toBeCloseTo(6.5, 10);
  });
});
