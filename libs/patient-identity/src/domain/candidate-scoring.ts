import type { IdentityMatcher } from './identity-matcher';
import type { ScoredGolden } from './link-decision';

/** A source patient already placed, as the matcher's state holds it: its golden patient and its features. */
export interface MatchCandidate {
  readonly sourcePatientId: string;
  readonly goldenId: string;
  readonly features: unknown;
  /** Linked only as a POSSIBLE_MATCH: agreeing with it makes at most a possible match with its golden patient. */
  readonly provisional?: boolean;
  /** Its blocking keys: those it shares with the record explain why it was a candidate. */
  readonly blockingKeys?: readonly string[];
}

const RANK = { MATCH: 2, POSSIBLE_MATCH: 1, NO_MATCH: 0 } as const;

/**
 * Each candidate golden patient scored by its best-agreeing member (its members are variants of one person,
 * and the closest variant is the fairest comparison), in the order the candidates were first seen. A member
 * linked provisionally (awaiting review) is not yet known to be that person: matching it is a possible match
 * of its golden patient at most, so a twin's provisional link never carries the other twin's records in.
 */
export function scoreCandidates(
  matcher: IdentityMatcher,
  features: unknown,
  candidates: Iterable<MatchCandidate>,
  blockingKeys: readonly string[] = [],
): ScoredGolden[] {
  const byGolden = new Map<string, ScoredGolden>();
  const keys = new Set(blockingKeys);
  for (const candidate of candidates) {
    const shared = (candidate.blockingKeys ?? []).filter((key) => keys.has(key));
    const explanation = {
      ...matcher.compare(features, candidate.features),
      comparedWith: candidate.sourcePatientId,
      ...(shared.length > 0 ? { blockingKeys: shared } : {}),
    };
    const classified = matcher.classify(explanation);
    const result = candidate.provisional && classified === 'MATCH' ? 'POSSIBLE_MATCH' : classified;
    const existing = byGolden.get(candidate.goldenId);
    if (existing) existing.otherMembers++;
    const better =
      !existing ||
      RANK[result] > RANK[existing.result] ||
      (RANK[result] === RANK[existing.result] && explanation.weight > existing.explanation.weight);
    if (better) {
      byGolden.set(candidate.goldenId, {
        goldenId: candidate.goldenId,
        result,
        explanation,
        otherMembers: existing?.otherMembers ?? 1,
      });
    }
  }
  return [...byGolden.values()];
}
