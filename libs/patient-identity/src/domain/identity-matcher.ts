import type { Patient } from 'fhir/r4';
import type { MatchExplanation, MatchResult } from './identity-events';

/**
 * What the online matching process needs from a record-linkage model. Features are plain JSON: the matcher's
 * state keeps them per source patient in PostgreSQL, so candidates are compared without re-reading resources.
 */
export interface IdentityMatcher {
  /** Recorded on every automatic decision, so a link names the model version behind it. */
  readonly version: string;
  featuresOf(patient: Patient): unknown;
  blockingKeysOf(features: unknown): string[];
  compare(a: unknown, b: unknown): MatchExplanation;
  classify(explanation: MatchExplanation): MatchResult;
  /** Of `fields`, those on which two records disagree outright (not a typo, a transposition or a gap). */
  conflicts(a: unknown, b: unknown, fields: readonly string[]): string[];
}
