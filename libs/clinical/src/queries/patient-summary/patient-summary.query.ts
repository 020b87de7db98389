import { Query } from '@nestjs/cqrs';
import type { Bundle } from 'fhir/r4';

export type PatientSummaryResult =
  { status: 'found'; bundle: Bundle } | { status: 'not-found' } | { status: 'gone'; at: Date };

/** Patient/<id>/$summary: the IPS document of a source or golden patient as of an instant (now by default). */
export class PatientSummaryQuery extends Query<PatientSummaryResult> {
  constructor(
    readonly patientId: string,
    /** The FHIR base the document's fullUrls are under. */
    readonly base: string,
    readonly asOf?: Date,
  ) {
    super();
  }
}
