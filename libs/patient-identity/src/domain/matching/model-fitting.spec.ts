import { defaultComparators } from './comparators';
import type { MatchFeatures } from './features';
import { FellegiSunterModel } from './fellegi-sunter';
import { fitParameters } from './model-fitting';
import { seededRandom } from './seeded-random';
import { features } from './testing/fixtures';

const GIVEN = ['harley', 'madeline', 'mitchell', 'kayla', 'aloysius', 'kirra', 'isabelle', 'oliver', 'grace'];
const FAMILY = ['mccarthy', 'mason', 'green', 'harrington', 'pegg', 'menzies', 'kelly', 'murphy', 'dean'];
const CITY = ['marsden', 'granville', 'cleveland', 'woodend', 'orford', 'coolaroo'];

/** A small population with one typo-ridden duplicate for every second person. */
function population(): { records: MatchFeatures[]; duplicateOf: Map<number, number> } {
  const random = seededRandom(11);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const typo = (text: string) => {
    const at = 1 + Math.floor(random() * (text.length - 2));
    return text.slice(0, at) + text[at + 1] + text[at] + text.slice(at + 2);
  };
  const records: MatchFeatures[] = [];
  const duplicateOf = new Map<number, number>();
  for (let person = 0; person < 300; person++) {
    const year = 1920 + Math.floor(random() * 80);
    const month = String(1 + Math.floor(random() * 12)).padStart(2, '0');
    const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
    const fields = {
      given: pick(GIVEN),
      family: pick(FAMILY),
      birthDate: `${year}-${month}-${day}`,
      city: pick(CITY),
      postalCode: String(2000 + Math.floor(random() * 40)),
      ssn: String(1_000_000 + person * 7919),
    };
    records.push(features(fields));
    if (person % 2 === 0) {
      duplicateOf.set(records.length, records.length - 1);
      records.push(
        features({ ...fields, family: typo(fields.family), city: random() < 0.5 ? undefined : fields.city }),
      );
    }
  }
  return { records, duplicateOf };
}

describe('fitParameters', () => {
  const { records, duplicateOf } = population();
  const comparators = defaultComparators();
  const fit = fitParameters(records, comparators, { randomPairs: 20_000, seed: 5 });
  const model = new FellegiSunterModel(comparators, fit.parameters);

  it('finds about as many matches as there are duplicates, without labels', () => {
    expect(fit.converged).toBe(true);
    expect(fit.expectedMatches).toBeGreaterThan(duplicateOf.size * 0.9);
    expect(fit.expectedMatches).toBeLessThan(duplicateOf.size * 1.15);
    const allPairs = (records.length * (records.length - 1)) / 2;
    expect(fit.parameters.priorMatchProbability).toBeCloseTo(fit.expectedMatches / allPairs, 10);
    expect(fit.sessions.map((s) => s.name)).toEqual([
      'same-birth-date',
      'same-full-name',
      'same-given-and-birth-date',
    ]);
  });

  it('estimates disagreement weights (not clipped) and learns name frequencies into the model', () => {
    const given = fit.parameters.fields.find((field) => field.field === 'given_name')!;
    const different = given.levels.indexOf('different');
    // Duplicates here never change their given name: disagreeing on it is strong evidence against.
    expect(Math.log2(given.m[different] / given.u[different])).toBeLessThan(-6);
    const family = fit.parameters.termFrequencies!.household;
    const counts = new Map<string, number>();
    for (const record of records)
      counts.set(record.family[0].name, (counts.get(record.family[0].name) ?? 0) + 1);
    const [common, count] = [...counts].sort((a, b) => b[1] - a[1])[0];
    expect(family.values[common]).toBeCloseTo(count / records.length, 10);
    expect(family.minimum).toBeCloseTo(1 / records.length, 10);
  });

  it('weighs an exact family name by its frequency: a common one is weaker evidence than a rare one', () => {
    const tf = { minimum: 0.001, values: { smith: 0.2 } };
    const frequencyModel = new FellegiSunterModel(comparators, {
      ...fit.parameters,
      termFrequencies: { ...fit.parameters.termFrequencies, household: tf },
    });
    const score = (family: string) =>
      frequencyModel
        .score(features({ given: 'ann', family }), features({ given: 'bob', family }))
        .comparisons.find((c) => c.field === 'household')!;
    expect(score('smith')).toMatchObject({ level: 'same_family', termFrequency: 0.2 });
    expect(score('zyzzyva')).toMatchObject({ level: 'same_family', termFrequency: 0.001 });
    expect(score('zyzzyva').weight - score('smith').weight).toBeCloseTo(Math.log2(0.2 / 0.001), 10);
  });

  it('learns weights that separate duplicates from other pairs', () => {
    const identifier = fit.parameters.fields.find((field) => field.field === 'identifier');
    expect(identifier && identifier.m[0] / identifier.u[0]).toBeGreaterThan(100);
    for (const [duplicate, original] of duplicateOf) {
      expect(model.score(records[duplicate], records[original]).probability).toBeGreaterThan(0.99);
    }
    expect(model.score(records[0], records[5]).probability).toBeLessThan(0.01);
  });

  it('repeats exactly for one seed', () => {
    expect(fitParameters(records, comparators, { randomPairs: 20_000, seed: 5 }).parameters).toEqual(
      fit.parameters,
    );
  });
});
