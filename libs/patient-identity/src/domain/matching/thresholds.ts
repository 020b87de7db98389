import { probabilityOfWeight } from './fellegi-sunter';

export type MatchOutcome = 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH';

/**
 * Per-deployment cut-offs on the posterior, given either as probabilities or as weights in bits (the two
 * are interchangeable: p = 1 / (1 + 2^-weight)). `match` links automatically, `possibleMatch` links
 * provisionally and asks a person; below it a new golden patient is made.
 */
export type MatchThresholds =
  | { readonly scale: 'probability'; readonly match: number; readonly possibleMatch: number }
  | { readonly scale: 'weight'; readonly match: number; readonly possibleMatch: number };

export const DEFAULT_THRESHOLDS: MatchThresholds = { scale: 'probability', match: 0.99, possibleMatch: 0.5 };

export function validateThresholds(thresholds: MatchThresholds): MatchThresholds {
  const { scale, match, possibleMatch } = thresholds;
  if (!Number.isFinite(match) || !Number.isFinite(possibleMatch) || possibleMatch > match) {
    throw new Error('Match thresholds must be finite with possibleMatch <= match');
  }
  if (scale === 'probability' && (possibleMatch <= 0 || match >= 1)) {
    throw new Error('Probability thresholds must lie strictly between 0 and 1');
  }
  return thresholds;
}

export function classify(weight: number, thresholds: MatchThresholds): MatchOutcome {
  const value = thresholds.scale === 'weight' ? weight : probabilityOfWeight(weight);
  if (value >= thresholds.match) return 'MATCH';
  if (value >= thresholds.possibleMatch) return 'POSSIBLE_MATCH';
  return 'NO_MATCH';
}
