import type { FieldComparator } from './comparators';
import type { MatchFeatures } from './features';

/** m = P(level | same person), u = P(level | different people), one entry per comparator level. */
export interface FieldParameters {
  readonly field: string;
  readonly levels: readonly string[];
  readonly m: readonly number[];
  readonly u: readonly number[];
}

/**
 * How often each value of a field occurs among the records the model was fitted on (share of records holding
 * it). An exact agreement on a value weighs log2(m / frequency) instead of log2(m / u): agreeing on a common
 * surname is weak evidence, on a rare one strong. Values seen once are left out and weigh as `minimum`.
 */
export interface TermFrequencies {
  readonly minimum: number;
  readonly values: Readonly<Record<string, number>>;
}

export interface FellegiSunterParameters {
  /** P(same person) for a pair of records drawn at random, before any field is compared. */
  readonly priorMatchProbability: number;
  readonly fields: readonly FieldParameters[];
  /** Per field name, for the fields whose comparator has terms. */
  readonly termFrequencies?: Readonly<Record<string, TermFrequencies>>;
}

export interface FieldComparison {
  readonly field: string;
  /** The level's name, or `null` when a record lacks the field. */
  readonly level: string | null;
  /** log2(m/u) of the level (log2(m/frequency) for a term-frequency-weighed exact agreement); 0 if missing. */
  readonly weight: number;
  /** The agreeing value's frequency, when it weighed the agreement. */
  readonly termFrequency?: number;
}

export interface MatchScore {
  /** Total evidence in bits: prior log-odds plus every field's weight. */
  readonly weight: number;
  readonly probability: number;
  readonly priorWeight: number;
  readonly comparisons: readonly FieldComparison[];
}

/** A comparison vector: each comparator's level index, null where a field is missing. */
export type ComparisonVector = readonly (number | null)[];

export function log2BayesFactor(m: number, u: number): number {
  return Math.log2(m / u);
}

export function probabilityOfWeight(weight: number): number {
  return 1 / (1 + 2 ** -weight);
}

export function weightOfProbability(probability: number): number {
  return Math.log2(probability / (1 - probability));
}

/**
 * Fellegi–Sunter scoring: fields are taken as conditionally independent given match status, so the
 * posterior log-odds are the prior log-odds plus one log2 Bayes factor per field.
 */
export class FellegiSunterModel {
  private readonly weights: readonly (readonly number[])[];
  readonly priorWeight: number;

  constructor(
    readonly comparators: readonly FieldComparator[],
    readonly parameters: FellegiSunterParameters,
  ) {
    if (comparators.length !== parameters.fields.length) {
      throw new Error('One set of m/u parameters is needed per comparator');
    }
    comparators.forEach((comparator, index) => {
      const field = parameters.fields[index];
      if (field.field !== comparator.field || field.m.length !== comparator.levels.length) {
        throw new Error(`Parameters for "${field.field}" do not fit comparator "${comparator.field}"`);
      }
    });
    this.weights = parameters.fields.map((field) =>
      field.m.map((m, level) => log2BayesFactor(m, field.u[level])),
    );
    this.priorWeight = weightOfProbability(parameters.priorMatchProbability);
  }

  compare(a: MatchFeatures, b: MatchFeatures): ComparisonVector {
    return this.comparators.map((comparator) => comparator.compare(a, b));
  }

  /** Total weight only: the hot path of candidate ranking, without building an explanation. */
  weightOf(vector: ComparisonVector): number {
    let weight = this.priorWeight;
    vector.forEach((level, field) => {
      if (level !== null) weight += this.weights[field][level];
    });
    return weight;
  }

  /** The comparison vector's score; with both records at hand, exact name agreements weigh by frequency. */
  explain(vector: ComparisonVector, records?: [MatchFeatures, MatchFeatures]): MatchScore {
    const comparisons = vector.map((level, field): FieldComparison => {
      const comparator = this.comparators[field];
      if (level === null) return { field: comparator.field, level: null, weight: 0 };
      const frequency =
        level === comparator.terms?.level && records ? this.termFrequencyOf(field, records) : undefined;
      return {
        field: comparator.field,
        level: comparator.levels[level],
        weight:
          frequency === undefined
            ? this.weights[field][level]
            : log2BayesFactor(this.parameters.fields[field].m[level], frequency),
        ...(frequency === undefined ? {} : { termFrequency: frequency }),
      };
    });
    const weight = comparisons.reduce((sum, c) => sum + c.weight, this.priorWeight);
    return { weight, probability: probabilityOfWeight(weight), priorWeight: this.priorWeight, comparisons };
  }

  score(a: MatchFeatures, b: MatchFeatures): MatchScore {
    return this.explain(this.compare(a, b), [a, b]);
  }

  private termFrequencyOf(field: number, [a, b]: [MatchFeatures, MatchFeatures]): number | undefined {
    const comparator = this.comparators[field];
    const table = this.parameters.termFrequencies?.[comparator.field];
    const value = table && comparator.terms?.agreeingValue(a, b);
    if (!table || value === undefined) return undefined;
    return Math.max(table.values[value] ?? 0, table.minimum);
  }
}
