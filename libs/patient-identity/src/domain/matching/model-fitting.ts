import { blockedPairs, pairsSharingKey } from './blocking';
import type { FieldComparator } from './comparators';
import { expectationMaximisation } from './em';
import type { MatchFeatures } from './features';
import type { ComparisonVector, FellegiSunterParameters, TermFrequencies } from './fellegi-sunter';
import { seededRandom } from './seeded-random';

export interface FitOptions {
  /** Seed of the random pair sample. */
  readonly seed?: number;
  /** Size of the random pair sample u is measured on. */
  readonly randomPairs?: number;
  readonly maxBlockSize?: number;
}

/**
 * One EM session: the pairs sharing a training key, compared on `uses` only (the key's own fields agree by
 * construction and say nothing), of which it estimates the m of `estimates`.
 */
export interface TrainingSession {
  readonly name: string;
  /** The key two records must share to be a pair of this session, or undefined when a record has none. */
  keyOf(record: MatchFeatures): string | undefined;
  readonly uses: readonly string[];
  readonly estimates: readonly string[];
}

export interface FitReport {
  readonly parameters: FellegiSunterParameters;
  readonly blockedPairs: number;
  readonly randomPairs: number;
  /** Matches the model believes the records hold: the basis of the prior. */
  readonly expectedMatches: number;
  readonly iterations: number;
  readonly converged: boolean;
  /** Each session's pairs and the matches EM found among them. */
  readonly sessions: readonly { name: string; pairs: number; expectedMatches: number }[];
}

const fullBirthDate = (record: MatchFeatures) =>
  record.birthDate?.digits.length === 8 ? record.birthDate.digits : undefined;
const fullName = (record: MatchFeatures) =>
  record.given[0] && record.family[0] ? `${record.given[0].name}|${record.family[0].name}` : undefined;

const givenAndBirthDate = (record: MatchFeatures) => {
  const birth = fullBirthDate(record);
  return birth && record.given[0] ? `${record.given[0].name}|${birth}` : undefined;
};
const HOUSEHOLD = ['household', 'email'];

/**
 * Splink's way of estimating m: EM over pairs that share one training key, each session estimating fields its
 * key does not force to agree. Fields a household shares (family name, address, phone, e-mail) agree together
 * among different people too, so a session that used them beside the personal fields (given name, birth date,
 * sex, identifier) would find "same household" as its second class and learn that matches often disagree on
 * given name and birth date. So personal fields are learnt from personal evidence only (pairs sharing a birth
 * date: matches and the odd twin or coincidence; pairs sharing a full name: matches and namesakes), and
 * household fields from pairs sharing given name and birth date, which are almost all matches.
 */
export const DEFAULT_TRAINING_SESSIONS: readonly TrainingSession[] = [
  {
    name: 'same-birth-date',
    keyOf: fullBirthDate,
    uses: ['given_name', 'gender', 'identifier'],
    estimates: ['given_name', 'gender', 'identifier'],
  },
  { name: 'same-full-name', keyOf: fullName, uses: ['birth_date', 'identifier'], estimates: ['birth_date'] },
  {
    name: 'same-given-and-birth-date',
    keyOf: givenAndBirthDate,
    uses: [...HOUSEHOLD, 'identifier'],
    estimates: HOUSEHOLD,
  },
];

/**
 * Unsupervised estimation of every model parameter from the records themselves, no labels involved:
 *  1. m: one EM session per training key (DEFAULT_TRAINING_SESSIONS), u held at its random-pair frequencies;
 *     a field no session could estimate (no pairs) falls back to EM over all blocked pairs;
 *  2. prior: matches found among pairs sharing a birth date, over the share of matches that share it (m of
 *     the exact birth date), over the number of all pairs;
 *  3. u: random pairs, which stand for the whole population rather than blocked look-alikes, with the few
 *     true matches they hold discounted by their posterior under m and the prior (EM with m fixed);
 *  4. term frequencies of the name fields, from the records' values.
 */
export function fitParameters(
  records: readonly MatchFeatures[],
  comparators: readonly FieldComparator[],
  options: FitOptions = {},
  sessions: readonly TrainingSession[] = DEFAULT_TRAINING_SESSIONS,
): FitReport {
  const compare = (i: number, j: number): ComparisonVector =>
    comparators.map((comparator) => comparator.compare(records[i], records[j]));
  const maxBlockSize = options.maxBlockSize ?? 500;

  const blocked = blockedPairs(records, { maxBlockSize }).map(([i, j]) => compare(i, j));
  const random = randomPairs(records.length, options.randomPairs ?? 200_000, options.seed ?? 1).map(
    ([i, j]) => compare(i, j),
  );
  const u0 = comparators.map((comparator, field) =>
    levelFrequencies(random, field, comparator.levels.length),
  );
  const m0 = comparators.map((comparator) => initialM(comparator.levels.length));
  const onBlocked = expectationMaximisation(blocked, { m: m0, u: u0, matchProportion: 0.1 });

  const m = onBlocked.m.map((levels) => [...levels]);
  const sessionReports: { name: string; pairs: number; expectedMatches: number }[] = [];
  let converged = onBlocked.converged;
  let birthDateMatches: number | undefined;
  for (const session of sessions) {
    const used = comparators.map((c) => session.uses.includes(c.field));
    const estimated = comparators.map((c) => session.estimates.includes(c.field));
    const pairs = pairsSharingKey(records, session.keyOf, maxBlockSize).map(([i, j]) =>
      compare(i, j).map((level, field) => (used[field] ? level : null)),
    );
    if (pairs.length === 0) continue;
    const fit = expectationMaximisation(
      pairs,
      { m: m0, u: u0, matchProportion: 0.5 },
      { fixed: { u: true } },
    );
    converged &&= fit.converged;
    estimated.forEach((yes, field) => {
      if (yes && pairs.some((vector) => vector[field] !== null)) m[field] = [...fit.m[field]];
    });
    const expected = fit.matchProportion * pairs.length;
    sessionReports.push({ name: session.name, pairs: pairs.length, expectedMatches: expected });
    if (session.name === 'same-birth-date') birthDateMatches = expected;
  }
  // The birth-date session's matches are the share of all matches that agree on the exact birth date.
  const birth = comparators.findIndex((c) => c.field === 'birth_date');
  const priorFromSessions =
    birthDateMatches !== undefined && birth >= 0 ? birthDateMatches / m[birth][0] : undefined;

  const allPairs = (records.length * (records.length - 1)) / 2;
  const expectedMatches = priorFromSessions ?? onBlocked.matchProportion * blocked.length;
  const prior = Math.min(0.5, Math.max(expectedMatches, 1) / Math.max(allPairs, 1));
  const onRandom = expectationMaximisation(
    random,
    { m, u: u0, matchProportion: prior },
    { fixed: { m: true, matchProportion: true } },
  );

  const termFrequencies: Record<string, TermFrequencies> = {};
  for (const comparator of comparators) {
    if (comparator.terms) termFrequencies[comparator.field] = termFrequenciesOf(records, comparator.terms);
  }
  return {
    parameters: {
      priorMatchProbability: prior,
      fields: comparators.map((comparator, field) => ({
        field: comparator.field,
        levels: comparator.levels,
        m: m[field],
        u: onRandom.u[field],
      })),
      termFrequencies,
    },
    blockedPairs: blocked.length,
    randomPairs: random.length,
    expectedMatches,
    iterations: onBlocked.iterations,
    converged: converged && onRandom.converged,
    sessions: sessionReports,
  };
}

/** Share of the records holding each value; values held by one record only weigh as the minimum. */
export function termFrequenciesOf(
  records: readonly MatchFeatures[],
  terms: NonNullable<FieldComparator['terms']>,
): TermFrequencies {
  const counts = new Map<string, number>();
  let holders = 0;
  for (const record of records) {
    const values = new Set(terms.valuesOf(record));
    if (values.size > 0) holders++;
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  const total = Math.max(holders, 1);
  const values: Record<string, number> = {};
  for (const [value, count] of [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (count > 1) values[value] = count / total;
  }
  return { minimum: 1 / total, values };
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
