import { Query } from '@nestjs/cqrs';
import type { StoredVersion } from '../fhir-store.reader';

/** Every recorded version of one resource with its lineage, oldest first (optionally as of an instant). */
export class ResourceLineageQuery extends Query<StoredVersion[]> {
  constructor(
    readonly resourceType: string,
    readonly id: string,
    readonly asOf?: Date,
    readonly versionId?: number,
  ) {
    super();
  }
}
