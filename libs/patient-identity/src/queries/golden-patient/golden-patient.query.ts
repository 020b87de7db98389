import { Query } from '@nestjs/cqrs';
import type { Patient } from 'fhir/r4';
import type { PatientLink } from '../identity.reader';

export type GoldenPatientOutcome =
  | { status: 'found'; patient: Patient; links: PatientLink[] }
  | { status: 'merged'; into: string; at: Date }
  | { status: 'not-found' };

/** The golden Patient as of an instant: its links then, and its members' versions then, by survivorship. */
export class GoldenPatientQuery extends Query<GoldenPatientOutcome> {
  constructor(
    readonly goldenId: string,
    readonly asOf?: Date,
  ) {
    super();
  }
}
