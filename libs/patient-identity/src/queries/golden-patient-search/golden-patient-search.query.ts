import { Query } from '@nestjs/cqrs';
import type { Patient } from 'fhir/r4';
import type { SearchRequest } from '@fa/fhir';

export interface GoldenPatientSearchCriteria {
  asOf: Date;
  /** Only these golden patients (`_id`). */
  ids?: string[];
  offset: number;
  count: number;
  /** A Patient search over source patients: a golden patient matches when one of its members does. */
  members?: SearchRequest;
}

export type GoldenPatientSearchResult =
  | { status: 'found'; patients: Patient[]; hasMore: boolean }
  /** The member search matched more source patients than a golden search resolves: narrow it. */
  | { status: 'too-broad'; limit: number };

/**
 * `Patient?_tag=…|GOLDEN_RECORD`: the golden patients that exist at an instant (created, not merged away), in id
 * order, each built by survivorship as GoldenPatientQuery builds it. With other search parameters, those whose
 * members (source patients, through the FHIR store's own search, as of the same instant) match them.
 */
export class GoldenPatientSearchQuery extends Query<GoldenPatientSearchResult> {
  constructor(readonly criteria: GoldenPatientSearchCriteria) {
    super();
  }
}
