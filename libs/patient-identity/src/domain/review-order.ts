import type { LinkFieldComparison } from './identity-events';

/**
 * A review task's fields as a reviewer should read them: the ones that disagree first (most negative weight
 * first), then those that agree (strongest first), then the ones a record lacks.
 */
export function disagreeingFirst(comparisons: readonly LinkFieldComparison[]): LinkFieldComparison[] {
  const rank = (c: LinkFieldComparison) => (c.level === 'missing' ? 2 : c.weight < 0 ? 0 : 1);
  return [...comparisons].sort(
    (a, b) => rank(a) - rank(b) || (rank(a) === 0 ? a.weight - b.weight : b.weight - a.weight),
  );
}
