import jaroWinklerSimilarity from 'talisman/metrics/jaro-winkler';
import damerauLevenshteinDistance from 'talisman/metrics/damerau-levenshtein';

export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  return jaroWinklerSimilarity(a, b);
}

/**
 * Damerau–Levenshtein distance at most `maxEdits`, an adjacent transposition (the commonest keying error)
 * counting as one edit. Bounded, since most comparisons are of unrelated values and are abandoned early.
 */
export function withinEdits(a: string, b: string, maxEdits: number): boolean {
  return (
    a === b ||
    (Math.abs(a.length - b.length) <= maxEdits &&
      damerauLevenshteinDistance.limited(maxEdits, a, b) <= maxEdits)
  );
}

/** True when any code of one name is a code of the other (Double Metaphone gives up to two). */
export function sharesCode(a: readonly string[], b: readonly string[]): boolean {
  return a.some((code) => b.includes(code));
}
