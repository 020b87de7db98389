import type { Patient } from 'fhir/r4';
import { canonicalJson, sha256Hex } from '@fa/fhir';
import type { MatchExplanation, MatchResult } from './identity-events';
import type { IdentityMatcher } from './identity-matcher';
import {
  blockingKeysOf,
  classify,
  defaultComparators,
  DEFAULT_THRESHOLDS,
  FellegiSunterModel,
  FellegiSunterParameters,
  MatchFeatures,
  matchFeaturesOf,
  MatchThresholds,
  validateThresholds,
} from './matching';

/** A model's version: the SHA-256 of its canonical JSON (parameters, term frequencies), so equal content is equal version. */
export function identityModelVersion(parameters: FellegiSunterParameters): string {
  return `fellegi-sunter/2@sha256:${sha256Hex(canonicalJson(parameters)).slice(0, 16)}`;
}

/**
 * The Fellegi–Sunter model behind the IdentityMatcher port, with per-deployment parameters and thresholds. Its
 * version names the model's content (SHA-256 of its canonical JSON), so every automatic link says which
 * parameters made it.
 */
export class FellegiSunterIdentityMatcher implements IdentityMatcher {
  private readonly model: FellegiSunterModel;
  readonly version: string;

  constructor(
    parameters: FellegiSunterParameters,
    private readonly thresholds: MatchThresholds = DEFAULT_THRESHOLDS,
  ) {
    this.model = new FellegiSunterModel(defaultComparators(), parameters);
    validateThresholds(thresholds);
    this.version = identityModelVersion(parameters);
  }

  featuresOf(patient: Patient): unknown {
    return matchFeaturesOf(patient);
  }

  blockingKeysOf(features: unknown): string[] {
    return blockingKeysOf(features as MatchFeatures);
  }

  compare(a: unknown, b: unknown): MatchExplanation {
    const score = this.model.score(a as MatchFeatures, b as MatchFeatures);
    return {
      weight: score.weight,
      probability: score.probability,
      comparisons: score.comparisons.map((c) => ({
        field: c.field,
        level: c.level ?? 'missing',
        weight: c.weight,
        ...(c.termFrequency === undefined ? {} : { termFrequency: c.termFrequency }),
      })),
    };
  }

  classify(explanation: MatchExplanation): MatchResult {
    return classify(explanation.weight, this.thresholds);
  }

  conflicts(a: unknown, b: unknown, fields: readonly string[]): string[] {
    const vector = this.model.compare(a as MatchFeatures, b as MatchFeatures);
    return this.model.comparators.flatMap((comparator, i) => {
      const level = vector[i];
      const outright = level !== null && comparator.levels[level] === 'different';
      return outright && fields.includes(comparator.field) ? [comparator.field] : [];
    });
  }
}
