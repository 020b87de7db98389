import { Query } from '@nestjs/cqrs';
import type { FindingRow } from '../revenue-cycle.reader';

export interface FindingSearch {
  /** Patient/<id>: a golden patient (its findings) or a source patient (those its claims are in). */
  patientId?: string;
  kind?: 'exact' | 'suspect';
  status?: string;
  dateFrom?: string;
  dateTo?: string;
  asOf: Date;
  limit: number;
  offset: number;
}

export type SearchFindingsOutcome =
  /** total: how many findings match, whatever the page. */
  { status: 'found'; findings: FindingRow[]; total: number } | { status: 'patient-not-found' };

/** Duplicate-claim findings (DetectedIssue search) as of an instant. */
export class SearchFindingsQuery extends Query<SearchFindingsOutcome> {
  constructor(readonly search: FindingSearch) {
    super();
  }
}

/** One finding (DetectedIssue read) as of an instant. */
export class ReadFindingQuery extends Query<FindingRow | undefined> {
  constructor(
    readonly findingId: string,
    readonly asOf?: Date,
  ) {
    super();
  }
}
