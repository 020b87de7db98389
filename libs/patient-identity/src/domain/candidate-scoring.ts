import type { IdentityMatcher } from './identity-matcher';
import type { ScoredGolden } from './link-decision';

/** A source patient already placed, as the matcher's state holds it: its golden patient and its features. */
export interface MatchCandidate {
  readonly sourcePatientId: string;
  readonly goldenId: string;
  readonly features: unknown;
}

/**
 * Each candidate golden patient scored by its best-agreeing member (its members are variants of one person,
 * and the closest variant is the fairest comparison), in the order the candidates were first seen.
 */
export function scoreCandidates(
  matcher: IdentityMatcher,
  features: unknown,
  candidates: Iterable<MatchCandidate>,
): ScoredGolden[] {
  const byGolden = new Map<string, ScoredGolden>();
  for (const candidate of candidates) {
    const explanation = {
      ...matcher.compare(features, candidate.features),
      comparedWith: candidate.sourcePatientId,
    };
    const existing = byGolden.get(candidate.goldenId);
    if (existing) existing.otherMembers++;
    if (!existing || explanation.weight > existing.explanation.weight) {
      byGolden.set(candidate.goldenId, {
        goldenId: candidate.goldenId,
        result: matcher.classify(explanation),
        explanation,
        otherMembers: existing?.otherMembers ?? 1,
      });
    }
  }
  return [...byGolden.values()];
}
