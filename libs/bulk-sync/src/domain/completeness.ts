import type { CompletenessWarning, TypeTally } from '../events';

/**
 * Per-type completeness of one run: fewer lines than the manifest's count, or (for a full export) fewer resources
 * than the previous full export beyond the threshold (a fraction, e.g. 0.1 for a 10 % drop).
 */
export function checkCompleteness(
  tallies: Record<string, TypeTally>,
  previousFull: Record<string, number> | undefined,
  threshold: number,
): CompletenessWarning[] {
  const warnings: CompletenessWarning[] = [];
  for (const [resourceType, tally] of Object.entries(tallies).sort(([a], [b]) => a.localeCompare(b))) {
    if (tally.manifestCount !== undefined && tally.received < tally.manifestCount)
      warnings.push({
        resourceType,
        kind: 'below-manifest-count',
        expected: tally.manifestCount,
        actual: tally.received,
      });
  }
  if (previousFull) {
    for (const [resourceType, before] of Object.entries(previousFull).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      const now = tallies[resourceType]?.received ?? 0;
      if (before > 0 && (before - now) / before > threshold)
        warnings.push({ resourceType, kind: 'drop-from-previous', expected: before, actual: now });
    }
  }
  return warnings;
}
