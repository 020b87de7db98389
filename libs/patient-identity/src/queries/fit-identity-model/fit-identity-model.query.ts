import { Query } from '@nestjs/cqrs';
import type { FellegiSunterParameters } from '../../domain/matching';

export type FitIdentityModelResult =
  | {
      status: 'fitted';
      parameters: FellegiSunterParameters;
      patients: number;
      blockedPairs: number;
      expectedMatches: number;
      converged: boolean;
      iterations: number;
      /** Each EM session's pairs and the matches it found. */
      sessions: readonly { name: string; pairs: number; expectedMatches: number }[];
    }
  /** Fewer than two Patients, or no two sharing a blocking key: nothing to learn from. */
  | { status: 'nothing-to-learn'; patients: number; reason: string };

/**
 * The matching model estimated from the Patients in the store (m/u by EM, no labels): what `cli identity-fit`
 * writes and IDENTITY_MODEL then names.
 */
export class FitIdentityModelQuery extends Query<FitIdentityModelResult> {
  constructor(readonly seed = 1) {
    super();
  }
}
