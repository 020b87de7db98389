import type { IdentityConfig } from '@fa/platform';
import defaultParameters from './domain/default-model.json';
import { FellegiSunterIdentityMatcher } from './domain/fellegi-sunter-identity-matcher';
import type { FellegiSunterParameters } from './domain/matching';
import { SurvivorshipPolicy, survivorshipPolicyOf } from './domain/survivorship';

/** The shipped model, fitted by EM on the public Febrl data the same way `cli identity-fit` fits a deployment's. */
export const DEFAULT_IDENTITY_MODEL = defaultParameters as FellegiSunterParameters;

/**
 * The deployment's matcher from its validated configuration: IDENTITY_MODEL's parameters (or the shipped
 * model) and the two thresholds. A model that does not fit the comparators stops the start, naming the file.
 */
export function identityMatcherFromConfig(config: IdentityConfig): FellegiSunterIdentityMatcher {
  const thresholds = {
    scale: 'probability' as const,
    match: config.matchProbability,
    possibleMatch: config.possibleMatchProbability,
  };
  if (!config.model) return new FellegiSunterIdentityMatcher(DEFAULT_IDENTITY_MODEL, thresholds);
  try {
    return new FellegiSunterIdentityMatcher(modelParameters(config.model.parameters), thresholds);
  } catch (error) {
    throw new Error(`IDENTITY_MODEL: ${config.model.path}: ${(error as Error).message}`);
  }
}

/** IDENTITY_SURVIVORSHIP checked against the fields and rules golden patients know. */
export function survivorshipFromConfig(config: IdentityConfig): SurvivorshipPolicy {
  try {
    return survivorshipPolicyOf(config.survivorship);
  } catch (error) {
    throw new Error(`IDENTITY_SURVIVORSHIP: ${(error as Error).message}`);
  }
}

function modelParameters(value: unknown): FellegiSunterParameters {
  const model = value as Partial<FellegiSunterParameters> | null;
  const numbers = (list: unknown) => Array.isArray(list) && list.every((n) => Number.isFinite(n));
  const prior = model?.priorMatchProbability;
  if (typeof prior !== 'number' || !(prior > 0 && prior < 1)) {
    throw new Error('priorMatchProbability must be a probability strictly between 0 and 1');
  }
  if (!Array.isArray(model?.fields)) throw new Error('fields must list each comparator’s m and u');
  for (const field of model.fields) {
    const ok =
      typeof field?.field === 'string' &&
      Array.isArray(field.levels) &&
      numbers(field.m) &&
      numbers(field.u) &&
      field.m.length === field.levels.length &&
      field.u.length === field.levels.length;
    if (!ok) throw new Error(`field ${JSON.stringify(field?.field)} needs levels with one m and one u each`);
  }
  const frequencies = model.termFrequencies;
  if (frequencies !== undefined) {
    const probability = (n: unknown) => typeof n === 'number' && n > 0 && n <= 1;
    for (const [field, table] of Object.entries(frequencies ?? {})) {
      const ok =
        probability(table?.minimum) &&
        typeof table.values === 'object' &&
        table.values !== null &&
        Object.values(table.values).every(probability);
      if (!ok)
        throw new Error(`termFrequencies.${field} needs a minimum and values that are frequencies in (0, 1]`);
    }
  }
  return model as FellegiSunterParameters;
}
