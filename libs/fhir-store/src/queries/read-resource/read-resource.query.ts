import { Query } from '@nestjs/cqrs';
import type { ReadOutcome } from '../fhir-store.reader';

/** FHIR read; with asOf, the version current at that instant. */
export class ReadResourceQuery extends Query<ReadOutcome> {
  constructor(
    readonly resourceType: string,
    readonly id: string,
    readonly asOf?: Date,
  ) {
    super();
  }
}
