import { Query } from '@nestjs/cqrs';
import type { Patient } from 'fhir/r4';

export interface GoldenPatientSearchCriteria {
  asOf: Date;
  /** Only these golden patients (`_id`). */
  ids?: string[];
  offset: number;
  count: number;
}

export interface GoldenPatientSearchResult {
  patients: Patient[];
  hasMore: boolean;
}

/**
 * `Patient?_tag=…|GOLDEN_RECORD`: the golden patients that exist at an instant (created, not merged away), in id
 * order, each built by survivorship as GoldenPatientQuery builds it.
 */
export class GoldenPatientSearchQuery extends Query<GoldenPatientSearchResult> {
  constructor(readonly criteria: GoldenPatientSearchCriteria) {
    super();
  }
}
