import { Query } from '@nestjs/cqrs';
import type { Resource } from 'fhir/r4';
import type { FactEntry } from '../../domain/clinical-record';

export type ClinicalRecordResult =
  | { status: 'found'; patientId: string; golden: boolean; patient: Resource | null; entries: FactEntry[] }
  | { status: 'not-found' }
  | { status: 'gone'; at: Date };

/**
 * A patient's record de-duplicated across sources as of an instant: the $everything of the source patient
 * (fhir-store) or of the golden patient (Patient Identity), with the resources linked as one fact collapsed.
 */
export class ClinicalRecordQuery extends Query<ClinicalRecordResult> {
  constructor(
    readonly patientId: string,
    readonly asOf?: Date,
    readonly options: { types?: string[]; since?: Date } = {},
  ) {
    super();
  }
}
