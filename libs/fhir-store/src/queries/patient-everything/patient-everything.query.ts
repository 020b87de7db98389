import { Query } from '@nestjs/cqrs';
import type { EverythingCriteria, EverythingResult } from './patient-everything.reader';

/** Patient/$everything, one page of it; with criteria.asOf, as it stood at that instant. */
export class PatientEverythingQuery extends Query<EverythingResult> {
  constructor(readonly criteria: EverythingCriteria) {
    super();
  }
}
