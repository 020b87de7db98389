import { Query } from '@nestjs/cqrs';
import type { ChainProblem } from '../../domain/verify-chain';

export interface AuditVerification {
  readonly chainId: string;
  readonly head: number;
  /** Records recomputed and found linked. */
  readonly checked: number;
  /** Valid anchors of this chain, and how many of them the records matched. */
  readonly anchors: number;
  readonly anchorsMatched: number;
  /** The highest anchored seq: records after it are checked for linkage only, until the next anchor. */
  readonly anchoredUpTo: number;
  /** The first thing wrong: a record altered, deleted or inserted, or an anchor line that cannot be trusted. */
  readonly problem?: ChainProblem;
}

/** Recomputes the audit chain from its first record against the signed anchors. */
export class VerifyAuditChainQuery extends Query<AuditVerification> {}
