import { Query } from '@nestjs/cqrs';
import type { Patient } from 'fhir/r4';

export interface GoldenPatientVersion {
  versionId: number;
  recordedAt: Date;
  /** The golden Patient as it stood from this change on; absent for the version that merged it away. */
  patient?: Patient;
}

export type GoldenPatientHistory =
  { status: 'found'; versions: GoldenPatientVersion[] } | { status: 'not-found' };

/** `Patient/<golden>/_history`: one version per membership change, newest first. */
export class GoldenPatientHistoryQuery extends Query<GoldenPatientHistory> {
  constructor(
    readonly goldenId: string,
    readonly until: Date = new Date(),
  ) {
    super();
  }
}
