import { Query } from '@nestjs/cqrs';
import type { ClaimWithLines } from '../revenue-cycle.reader';
import type { PatientScope } from '../patient-scope';

export type PatientClaimsOutcome =
  { status: 'found'; scope: PatientScope; claims: ClaimWithLines[] } | { status: 'patient-not-found' };

/** A patient's claims (of every source patient of its golden patient) with lines and adjudication, as of asOf. */
export class PatientClaimsQuery extends Query<PatientClaimsOutcome> {
  constructor(
    readonly patientId: string,
    readonly asOf: Date,
    /** Claims whose billable period reaches into [from, to). */
    readonly from?: Date,
    readonly to?: Date,
  ) {
    super();
  }
}
