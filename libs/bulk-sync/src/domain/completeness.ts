import type { CompletenessWarning, TypeTally } from '../events';

/** What a run is compared with: the previous full export's lines per type, the previous run's held totals. */
export interface CompletenessBaseline {
  previousFull?: Record<string, number>;
  /** Held per type after the previous run, and after this one (both needed to compare). */
  previousHeld?: Record<string, number>;
  held?: Record<string, number>;
}

/**
 * Per-type completeness of one run: fewer lines than the manifest's count; (a full export) fewer resources than
 * the previous full export beyond the threshold (a fraction, e.g. 0.1 for a 10 % drop); (an incremental run)
 * fewer resources held for the source than after the previous run, beyond the threshold.
 */
export function checkCompleteness(
  tallies: Record<string, TypeTally>,
  baseline: CompletenessBaseline,
  threshold: number,
): CompletenessWarning[] {
  const warnings: CompletenessWarning[] = [];
  for (const [resourceType, tally] of byType(tallies)) {
    if (tally.manifestCount !== undefined && tally.received < tally.manifestCount)
      warnings.push({
        resourceType,
        kind: 'below-manifest-count',
        expected: tally.manifestCount,
        actual: tally.received,
      });
  }
  const drops = (
    before: Record<string, number>,
    now: (type: string) => number,
    kind: CompletenessWarning['kind'],
  ) => {
    for (const [resourceType, expected] of byType(before)) {
      const actual = now(resourceType);
      if (expected > 0 && (expected - actual) / expected > threshold)
        warnings.push({ resourceType, kind, expected, actual });
    }
  };
  if (baseline.previousFull)
    drops(baseline.previousFull, (t) => tallies[t]?.received ?? 0, 'drop-from-previous');
  const { previousHeld, held } = baseline;
  if (previousHeld && held) drops(previousHeld, (t) => held[t] ?? 0, 'held-drop-from-previous');
  return warnings;
}

function byType<T>(record: Record<string, T>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}
