import type { ComparisonVector } from './fellegi-sunter';

/** m and u per field and level, with the proportion of matches among the pairs they were fitted on. */
export interface MixtureParameters {
  readonly m: readonly (readonly number[])[];
  readonly u: readonly (readonly number[])[];
  readonly matchProportion: number;
}

export interface EmOptions {
  readonly maxIterations?: number;
  /** Stop once no probability moves by more than this between iterations. */
  readonly tolerance?: number;
  /** Parameters held at their initial values, e.g. u measured on random pairs. */
  readonly fixed?: { readonly m?: boolean; readonly u?: boolean; readonly matchProportion?: boolean };
  /** Dirichlet pseudo-count per level, so a level unseen in one class keeps a finite weight. */
  readonly pseudoCount?: number;
}

export interface EmResult extends MixtureParameters {
  readonly iterations: number;
  readonly converged: boolean;
}

interface Patterns {
  readonly vectors: ComparisonVector[];
  readonly counts: number[];
}

/** Identical comparison vectors are frequent (most pairs disagree everywhere): fit on distinct ones. */
function patternsOf(vectors: readonly ComparisonVector[]): Patterns {
  const index = new Map<string, number>();
  const patterns: Patterns = { vectors: [], counts: [] };
  for (const vector of vectors) {
    const key = vector.join(',');
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, patterns.vectors.length);
      patterns.vectors.push(vector);
      patterns.counts.push(1);
    } else {
      patterns.counts[at]++;
    }
  }
  return patterns;
}

/**
 * Expectation–maximisation for the two-class Fellegi–Sunter mixture on unlabeled comparison vectors: the
 * E-step gives each pair its posterior match probability, the M-step re-estimates m, u and the match
 * proportion from those soft labels. Missing fields (null) take no part in either step.
 */
export function expectationMaximisation(
  vectors: readonly ComparisonVector[],
  initial: MixtureParameters,
  options: EmOptions = {},
): EmResult {
  const { maxIterations = 200, tolerance = 1e-6, fixed = {}, pseudoCount = 0.5 } = options;
  const patterns = patternsOf(vectors);
  const total = vectors.length;
  let m = initial.m.map((levels) => [...levels]);
  let u = initial.u.map((levels) => [...levels]);
  let matchProportion = initial.matchProportion;

  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const logM = m.map((levels) => levels.map(Math.log));
    const logU = u.map((levels) => levels.map(Math.log));
    const mCounts = m.map((levels) => levels.map(() => 0));
    const uCounts = u.map((levels) => levels.map(() => 0));
    const priorLogOdds = Math.log(matchProportion / (1 - matchProportion));
    let expectedMatches = 0;

    patterns.vectors.forEach((vector, p) => {
      let logOdds = priorLogOdds;
      vector.forEach((level, field) => {
        if (level !== null) logOdds += logM[field][level] - logU[field][level];
      });
      const posterior = 1 / (1 + Math.exp(-logOdds));
      const count = patterns.counts[p];
      expectedMatches += count * posterior;
      vector.forEach((level, field) => {
        if (level === null) return;
        mCounts[field][level] += count * posterior;
        uCounts[field][level] += count * (1 - posterior);
      });
    });

    const nextM = fixed.m ? m : mCounts.map((levels) => normalised(levels, pseudoCount));
    const nextU = fixed.u ? u : uCounts.map((levels) => normalised(levels, pseudoCount));
    const nextProportion = fixed.matchProportion ? matchProportion : clampProportion(expectedMatches / total);
    const change = Math.max(
      maxDifference(m, nextM),
      maxDifference(u, nextU),
      Math.abs(nextProportion - matchProportion),
    );
    [m, u, matchProportion] = [nextM, nextU, nextProportion];
    if (change < tolerance) return { m, u, matchProportion, iterations: iteration, converged: true };
  }
  return { m, u, matchProportion, iterations: maxIterations, converged: false };
}

function normalised(counts: readonly number[], pseudoCount: number): number[] {
  const sum = counts.reduce((a, b) => a + b, 0) + pseudoCount * counts.length;
  return counts.map((count) => (count + pseudoCount) / sum);
}

/** Keeps the log-odds finite when a class empties out. */
function clampProportion(proportion: number): number {
  return Math.min(1 - 1e-12, Math.max(1e-12, proportion));
}

function maxDifference(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  let max = 0;
  a.forEach((levels, field) =>
    levels.forEach((value, level) => (max = Math.max(max, Math.abs(value - b[field][level])))),
  );
  return max;
}
