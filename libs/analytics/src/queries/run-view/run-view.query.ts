import { Query } from '@nestjs/cqrs';
import type { CompiledView } from '../../domain/compile-view';
import type { ViewRow } from '../../domain/view-definition';

export interface RunViewCriteria {
  /** The record-time instant the rows are as of (the request's `_asOf`, else the time the run started). */
  asOf: Date;
  /** Only resources in this patient's compartment (for a Patient view: that patient). */
  patientId?: string;
  /** At most this many rows. */
  limit?: number;
}

export type RunViewResult =
  { status: 'found'; rows: AsyncIterable<ViewRow> } | { status: 'patient-not-found'; patientId: string };

/**
 * Runs a compiled ViewDefinition over the FHIR store as it stood at `asOf`. The rows are produced page by page
 * as they are consumed (the first page is read before the result is returned, so a failure there is an error
 * of the query, not of the stream).
 */
export class RunViewQuery extends Query<RunViewResult> {
  constructor(
    readonly view: CompiledView,
    readonly criteria: RunViewCriteria,
  ) {
    super();
  }
}
