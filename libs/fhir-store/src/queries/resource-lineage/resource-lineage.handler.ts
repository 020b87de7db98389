import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { FhirStoreReader, StoredVersion } from '../fhir-store.reader';
import { ResourceLineageQuery } from './resource-lineage.query';

@QueryHandler(ResourceLineageQuery)
export class ResourceLineageHandler implements IQueryHandler<ResourceLineageQuery, StoredVersion[]> {
  constructor(private readonly reader: FhirStoreReader) {}

  execute(query: ResourceLineageQuery): Promise<StoredVersion[]> {
    return this.reader.lineage(query.resourceType, query.id, query.asOf, query.versionId);
  }
}
