import { expectationMaximisation, type MixtureParameters } from './em';
import type { ComparisonVector } from './fellegi-sunter';
import { seededRandom } from './seeded-random';

const truth: MixtureParameters = {
  matchProportion: 0.2,
  m: [
    [0.85, 0.1, 0.05],
    [0.7, 0.2, 0.1],
    [0.9, 0.05, 0.05],
    [0.6, 0.3, 0.1],
  ],
  u: [
    [0.02, 0.08, 0.9],
    [0.05, 0.15, 0.8],
    [0.01, 0.04, 0.95],
    [0.1, 0.2, 0.7],
  ],
};

function draw(random: () => number, probabilities: readonly number[]): number {
  let r = random();
  for (let level = 0; level < probabilities.length; level++) {
    r -= probabilities[level];
    if (r < 0) return level;
  }
  return probabilities.length - 1;
}

/** Pairs drawn from known parameters, with some fields missing, for EM to recover them unlabeled. */
function sample(count: number, seed: number): ComparisonVector[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const isMatch = random() < truth.matchProportion;
    return (isMatch ? truth.m : truth.u).map((levels) => (random() < 0.1 ? null : draw(random, levels)));
  });
}

const flat = (rows: readonly (readonly number[])[]) => rows.flat();

describe('expectationMaximisation', () => {
  const start: MixtureParameters = {
    matchProportion: 0.5,
    m: truth.m.map((levels) => levels.map((_, level) => (level === 0 ? 0.6 : 0.2))),
    u: truth.u.map((levels) => levels.map((_, level) => (level === levels.length - 1 ? 0.6 : 0.2))),
  };

  it('recovers m, u and the match proportion from unlabeled pairs', () => {
    const fitted = expectationMaximisation(sample(20_000, 3), start);
    expect(fitted.converged).toBe(true);
    expect(fitted.matchProportion).toBeCloseTo(truth.matchProportion, 1);
    flat(fitted.m).forEach((m, i) => expect(Math.abs(m - flat(truth.m)[i])).toBeLessThan(0.03));
    flat(fitted.u).forEach((u, i) => expect(Math.abs(u - flat(truth.u)[i])).toBeLessThan(0.03));
  });

  it('holds fixed parameters at their initial values', () => {
    const fitted = expectationMaximisation(sample(2_000, 4), truth, {
      fixed: { u: true, matchProportion: true },
    });
    expect(fitted.u).toEqual(truth.u);
    expect(fitted.matchProportion).toBe(truth.matchProportion);
    expect(fitted.m).not.toEqual(truth.m);
  });

  it('keeps every probability positive through pseudo-counts', () => {
    const fitted = expectationMaximisation([[0, 0, 0, 0]], start, { maxIterations: 5 });
    for (const value of [...flat(fitted.m), ...flat(fitted.u)]) expect(value).toBeGreaterThan(0);
    expect(fitted.iterations).toBeLessThanOrEqual(5);
  });
});
