import { blockedPairs } from './blocking';
import type { FieldComparator } from './comparators';
import { expectationMaximisation } from './em';
import type { MatchFeatures } from './features';
import type { ComparisonVector, FellegiSunterParameters } from './fellegi-sunter';
import { seededRandom } from './seeded-random';

export interface FitOptions {
  /** Seed of the random pair sample. */
  readonly seed?: number;
  /** Size of the random pair sample u is measured on. */
  readonly randomPairs?: number;
  readonly maxBlockSize?: number;
}

export interface FitReport {
  readonly parameters: FellegiSunterParameters;
  readonly blockedPairs: number;
  readonly randomPairs: number;
  /** Matches EM believes the blocked pairs contain: the basis of the prior. */
  readonly expectedMatches: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * Unsupervised estimation of every model parameter from the records themselves, no labels involved:
 *  1. m: EM on the blocked pairs, where matches are common enough for the mixture to find them;
 *  2. prior: EM's match proportion times the blocked pair count (almost every match shares a blocking key),
 *     over the number of all pairs;
 *  3. u: random pairs, which stand for the whole population rather than blocked look-alikes, with the few
 *     true matches they hold discounted by their posterior under m and the prior (EM with m fixed).
 */
export function fitParameters(
  records: readonly MatchFeatures[],
  comparators: readonly FieldComparator[],
  options: FitOptions = {},
): FitReport {
  const compare = (i: number, j: number): ComparisonVector =>
    comparators.map((comparator) => comparator.compare(records[i], records[j]));

  const blocked = blockedPairs(records, { maxBlockSize: options.maxBlockSize }).map(([i, j]) =>
    compare(i, j),
  );
  const random = randomPairs(records.length, options.randomPairs ?? 200_000, options.seed ?? 1).map(
    ([i, j]) => compare(i, j),
  );
  const u0 = comparators.map((comparator, field) =>
    levelFrequencies(random, field, comparator.levels.length),
  );
  const m0 = comparators.map((comparator) => initialM(comparator.levels.length));

  const onBlocked = expectationMaximisation(blocked, { m: m0, u: u0, matchProportion: 0.1 });
  const expectedMatches = onBlocked.matchProportion * blocked.length;
  const allPairs = (records.length * (records.length - 1)) / 2;
  const prior = Math.min(0.5, Math.max(expectedMatches, 1) / Math.max(allPairs, 1));
  const onRandom = expectationMaximisation(
    random,
    { m: onBlocked.m, u: u0, matchProportion: prior },
    { fixed: { m: true, matchProportion: true } },
  );

  return {
    parameters: {
      priorMatchProbability: prior,
      fields: comparators.map((comparator, field) => ({
        field: comparator.field,
        levels: comparator.levels,
        m: onBlocked.m[field],
        u: onRandom.u[field],
      })),
    },
    blockedPairs: blocked.length,
    randomPairs: random.length,
    expectedMatches,
    iterations: onBlocked.iterations,
    converged: onBlocked.converged && onRandom.converged,
  };
}

/** Agreement is likely for matches: most mass on the first level, the rest shared out. */
function initialM(levelCount: number): number[] {
  return Array.from({ length: levelCount }, (_, level) => (level === 0 ? 0.8 : 0.2 / (levelCount - 1)));
}

function levelFrequencies(vectors: readonly ComparisonVector[], field: number, levelCount: number): number[] {
  const counts = new Array<number>(levelCount).fill(1);
  for (const vector of vectors) {
    const level = vector[field];
    if (level !== null) counts[level]++;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((count) => count / total);
}

function randomPairs(recordCount: number, count: number, seed: number): [number, number][] {
  if (recordCount < 2) return [];
  const random = seededRandom(seed);
  const pairs: [number, number][] = [];
  for (let k = 0; k < count; k++) {
    const i = Math.floor(random() * recordCount);
    let j = Math.floor(random() * (recordCount - 1));
    if (j >= i) j++;
    pairs.push([i, j]);
  }
  return pairs;
}
