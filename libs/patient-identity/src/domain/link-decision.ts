import type { MatchExplanation, MatchResult } from './identity-events';

/** What the matcher knows about one golden patient when a source patient version arrives. */
export interface ScoredGolden {
  goldenId: string;
  result: MatchResult;
  explanation: MatchExplanation;
  /** Other source patients linked to it (besides the one being decided). */
  otherMembers: number;
}

export interface SourcePatientState {
  goldenId?: string;
  manual: boolean;
  /** Golden patients a reviewer said this source patient is not. */
  notMatching: ReadonlySet<string>;
}

export type LinkDecision =
  | { kind: 'keep' }
  | { kind: 'create-golden'; unlinkFrom?: string }
  | {
      kind: 'link';
      goldenId: string;
      possible: boolean;
      explanation: MatchExplanation;
      unlinkFrom?: string;
      alternatives: ScoredGolden[];
    };

/**
 * The pure decision for a new version of a source patient (Emmett's decide: state + facts in, decision out).
 * - A reviewer's decision sticks: manual links are never moved.
 * - MATCH links (moving the patient if it was linked elsewhere); POSSIBLE_MATCH links provisionally when the
 *   patient has no golden yet, and asks for review; otherwise the patient gets a golden of its own.
 * - A patient stays where it is while it still matches there, and leaves a shared golden patient it no
 *   longer resembles.
 */
export function decideLink(state: SourcePatientState, scored: ScoredGolden[]): LinkDecision {
  if (state.manual && state.goldenId) return { kind: 'keep' };
  const eligible = scored
    .filter((s) => !state.notMatching.has(s.goldenId) && s.result !== 'NO_MATCH')
    .sort((a, b) => b.explanation.weight - a.explanation.weight);
  const best = eligible[0];
  const current = state.goldenId;
  if (current && eligible.some((s) => s.goldenId === current)) {
    const here = eligible.find((s) => s.goldenId === current)!;
    if (best.goldenId === current || best.result !== 'MATCH' || here.result === 'MATCH')
      return { kind: 'keep' };
  }
  if (best?.result === 'MATCH') {
    return {
      kind: 'link',
      goldenId: best.goldenId,
      possible: false,
      explanation: best.explanation,
      unlinkFrom: current,
      alternatives: eligible.slice(1),
    };
  }
  if (current) {
    const currentScore = scored.find((s) => s.goldenId === current);
    const alone = !currentScore || currentScore.otherMembers === 0;
    // Alone in its golden patient, or still a possible match there: nothing to undo.
    if (alone || (currentScore.result === 'POSSIBLE_MATCH' && !state.notMatching.has(current))) {
      return { kind: 'keep' };
    }
    return { kind: 'create-golden', unlinkFrom: current };
  }
  if (best?.result === 'POSSIBLE_MATCH') {
    return {
      kind: 'link',
      goldenId: best.goldenId,
      possible: true,
      explanation: best.explanation,
      alternatives: eligible.slice(1),
    };
  }
  return { kind: 'create-golden' };
}
