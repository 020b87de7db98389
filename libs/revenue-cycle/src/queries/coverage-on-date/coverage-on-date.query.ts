import { Query } from '@nestjs/cqrs';
import type { CoveragePeriod } from '../revenue-cycle.reader';
import type { PatientScope } from '../patient-scope';

export type CoverageOnDateOutcome =
  | { status: 'found'; scope: PatientScope; covered: boolean; periods: CoveragePeriod[] }
  | { status: 'patient-not-found' };

/** "Was this patient covered (by payer X) on this date, as we knew it at asOf": the periods that say so. */
export class CoverageOnDateQuery extends Query<CoverageOnDateOutcome> {
  constructor(
    readonly patientId: string,
    readonly asOf: Date,
    readonly date?: { start: Date; end: Date },
    readonly payer?: string,
  ) {
    super();
  }
}
