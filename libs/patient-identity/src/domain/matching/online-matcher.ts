import { InMemoryCandidateIndex, type InMemoryCandidateIndexOptions } from './candidate-index';
import type { MatchFeatures } from './features';
import type { FellegiSunterModel } from './fellegi-sunter';
import { decide, type MatchDecision } from './match-decision';
import { DEFAULT_THRESHOLDS, type MatchThresholds, validateThresholds } from './thresholds';

export interface OnlineMatcherOptions extends InMemoryCandidateIndexOptions {
  readonly thresholds?: MatchThresholds;
  /** Id of the golden patient a NO_MATCH record founds. */
  readonly newGoldenId?: (recordId: string) => string;
  /** Act on `decision.mergeGoldenIds` (default true); otherwise goldens are never merged automatically. */
  readonly mergeGoldens?: boolean;
}

export interface RecordMatch {
  readonly recordId: string;
  /** The golden the record now belongs to: the matched one, or a new one for NO_MATCH. */
  readonly goldenId: string;
  readonly decision: MatchDecision;
  /** Goldens folded into `goldenId` because this record matched them too. */
  readonly mergedGoldenIds: readonly string[];
}

/**
 * Matches records one at a time in arrival order, each against the records before it only, as ingestion
 * does: candidates from the blocking index, the pure `decide`, then the record joins the index under the
 * golden it was linked to (provisional POSSIBLE_MATCH links included, so later records can confirm them).
 */
export class OnlineMatcher {
  private readonly index: InMemoryCandidateIndex;
  private readonly thresholds: MatchThresholds;
  private readonly newGoldenId: (recordId: string) => string;
  private readonly mergeGoldens: boolean;

  constructor(
    private readonly model: FellegiSunterModel,
    options: OnlineMatcherOptions = {},
  ) {
    this.index = new InMemoryCandidateIndex(options);
    this.thresholds = validateThresholds(options.thresholds ?? DEFAULT_THRESHOLDS);
    this.newGoldenId = options.newGoldenId ?? ((recordId) => `golden-${recordId}`);
    this.mergeGoldens = options.mergeGoldens ?? true;
  }

  process(recordId: string, features: MatchFeatures): RecordMatch {
    const decision = decide(features, this.index.candidatesFor(features), this.model, this.thresholds);
    const goldenId = decision.goldenId ?? this.newGoldenId(recordId);
    this.index.add(recordId, features, goldenId);
    const mergedGoldenIds = this.mergeGoldens ? decision.mergeGoldenIds : [];
    this.index.mergeGoldens(goldenId, mergedGoldenIds);
    return { recordId, goldenId, decision, mergedGoldenIds };
  }

  goldenOf(recordId: string): string | undefined {
    return this.index.goldenOf(recordId);
  }

  membersOfGolden(goldenId: string): string[] {
    return this.index.membersOfGolden(goldenId);
  }
}
