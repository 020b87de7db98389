import { readFileSync } from 'node:fs';
import type { Patient } from 'fhir/r4';
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
import defaultParameters from './default-model.json';

/** The Fellegi–Sunter model behind the IdentityMatcher port, with per-deployment parameters and thresholds. */
export class FellegiSunterIdentityMatcher implements IdentityMatcher {
  private readonly model: FellegiSunterModel;

  constructor(
    parameters: FellegiSunterParameters,
    private readonly thresholds: MatchThresholds = DEFAULT_THRESHOLDS,
    readonly version = 'fellegi-sunter/1',
  ) {
    this.model = new FellegiSunterModel(defaultComparators(), parameters);
    validateThresholds(thresholds);
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
      })),
    };
  }

  classify(explanation: MatchExplanation): MatchResult {
    return classify(explanation.weight, this.thresholds);
  }
}

/**
 * The deployment's matcher: parameters from IDENTITY_MODEL (a JSON file written by `cli identity-fit`, fitted by
 * EM on the deployment's own patients) or the shipped default, fitted the same way on the public Febrl data.
 */
export function identityMatcherFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): FellegiSunterIdentityMatcher {
  const parameters = env.IDENTITY_MODEL
    ? (JSON.parse(readFileSync(env.IDENTITY_MODEL, 'utf8')) as FellegiSunterParameters)
    : (defaultParameters as FellegiSunterParameters);
  const match = env.IDENTITY_MATCH_PROBABILITY ? Number(env.IDENTITY_MATCH_PROBABILITY) : undefined;
  const possible = env.IDENTITY_POSSIBLE_MATCH_PROBABILITY
    ? Number(env.IDENTITY_POSSIBLE_MATCH_PROBABILITY)
    : undefined;
  const thresholds: MatchThresholds = {
    scale: 'probability',
    match: match ?? (DEFAULT_THRESHOLDS as { match: number }).match,
    possibleMatch: possible ?? (DEFAULT_THRESHOLDS as { possibleMatch: number }).possibleMatch,
  };
  return new FellegiSunterIdentityMatcher(parameters, thresholds);
}
