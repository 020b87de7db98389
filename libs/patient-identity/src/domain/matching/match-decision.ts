import type { MatchFeatures } from './features';
import { type FellegiSunterModel, type MatchScore, probabilityOfWeight } from './fellegi-sunter';
import { classify, type MatchOutcome, type MatchThresholds } from './thresholds';

/** A record already linked to a golden patient, as a candidate lookup (in memory or SQL) returns it. */
export interface MatchCandidate {
  readonly goldenId: string;
  readonly recordId: string;
  readonly features: MatchFeatures;
}

export interface GoldenScore {
  readonly outcome: MatchOutcome;
  readonly goldenId: string;
  /** The golden's best-agreeing member. */
  readonly recordId: string;
  readonly weight: number;
  readonly probability: number;
}

export interface MatchDecision {
  readonly outcome: MatchOutcome;
  /** The golden to link to; absent for NO_MATCH. */
  readonly goldenId?: string;
  /** Its member that agreed best, whose comparison is the explanation. */
  readonly matchedRecordId?: string;
  /** Per-field levels and weights behind the decision (the best candidate's, also for NO_MATCH). */
  readonly explanation?: MatchScore;
  /** Other goldens the record also reached (MATCH or POSSIBLE_MATCH), best first. */
  readonly otherGoldens: readonly GoldenScore[];
  /**
   * Goldens to fold into `goldenId`: on a MATCH, every other golden the record also MATCHes. Two goldens
   * that each match one record with high probability are one person (single linkage, as batch linkage's
   * connected components would conclude); a POSSIBLE_MATCH bridge is left to review.
   */
  readonly mergeGoldenIds: readonly string[];
}

/**
 * Pure decision for one incoming record. Each golden is scored by its best-agreeing member, since its
 * members are variants of one person and the closest variant is the fairest comparison.
 */
export function decide(
  record: MatchFeatures,
  candidates: readonly MatchCandidate[],
  model: FellegiSunterModel,
  thresholds: MatchThresholds,
): MatchDecision {
  const bestByGolden = new Map<string, { candidate: MatchCandidate; weight: number }>();
  for (const candidate of candidates) {
    const weight = model.weightOf(model.compare(record, candidate.features));
    const best = bestByGolden.get(candidate.goldenId);
    if (!best || weight > best.weight) bestByGolden.set(candidate.goldenId, { candidate, weight });
  }
  const [best, ...others] = [...bestByGolden.values()].sort((a, b) => b.weight - a.weight);
  if (!best) return { outcome: 'NO_MATCH', otherGoldens: [], mergeGoldenIds: [] };

  const explanation = model.score(record, best.candidate.features);
  const outcome = classify(best.weight, thresholds);
  if (outcome === 'NO_MATCH') return { outcome, explanation, otherGoldens: [], mergeGoldenIds: [] };

  const otherGoldens: GoldenScore[] = others
    .map(({ candidate, weight }) => ({
      outcome: classify(weight, thresholds),
      goldenId: candidate.goldenId,
      recordId: candidate.recordId,
      weight,
      probability: probabilityOfWeight(weight),
    }))
    .filter((other) => other.outcome !== 'NO_MATCH');
  const mergeGoldenIds =
    outcome === 'MATCH'
      ? otherGoldens.filter((other) => other.outcome === 'MATCH').map((o) => o.goldenId)
      : [];
  return {
    outcome,
    goldenId: best.candidate.goldenId,
    matchedRecordId: best.candidate.recordId,
    explanation,
    otherGoldens,
    mergeGoldenIds,
  };
}
