import { Query } from '@nestjs/cqrs';
import type { ChainedAccessRecord } from '../../events/access-recorded.event';

export interface AuditSearchCriteria {
  /** `Patient/<id>`: records naming this patient. */
  readonly patient?: string;
  /** The client id; null: records without a principal (the agent `anonymous`). */
  readonly agent?: string | null;
  /** Recorded at or after (inclusive). */
  readonly recordedFrom?: Date;
  /** Recorded before (exclusive); also what _asOf sets. */
  readonly recordedBefore?: Date;
  /** true: records naming no patient; false: naming at least one. */
  readonly patientMissing?: boolean;
  /** true: records without a principal; false: with one. */
  readonly agentMissing?: boolean;
  /** Records before this seq (the next page's cursor). */
  readonly beforeSeq?: number;
  /** Page size; 0: none (the page is empty). */
  readonly count: number;
}

export interface AuditSearchPage {
  readonly records: ChainedAccessRecord[];
  /** The seq to continue before, when there are more. */
  readonly nextBeforeSeq?: number;
}

/** Audit records, newest first, by patient, agent and record time. */
export class SearchAuditEventsQuery extends Query<AuditSearchPage> {
  constructor(readonly criteria: AuditSearchCriteria) {
    super();
  }
}
