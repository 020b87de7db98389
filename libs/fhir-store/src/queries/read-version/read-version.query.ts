import { Query } from '@nestjs/cqrs';
import type { StoredVersion } from '../fhir-store.reader';

/** FHIR vread. */
export class ReadVersionQuery extends Query<StoredVersion | undefined> {
  constructor(
    readonly resourceType: string,
    readonly id: string,
    readonly versionId: number,
  ) {
    super();
  }
}
