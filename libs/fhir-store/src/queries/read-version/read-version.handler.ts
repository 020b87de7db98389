import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { FhirStoreReader, StoredVersion } from '../fhir-store.reader';
import { ReadVersionQuery } from './read-version.query';

@QueryHandler(ReadVersionQuery)
export class ReadVersionHandler implements IQueryHandler<ReadVersionQuery, StoredVersion | undefined> {
  constructor(private readonly reader: FhirStoreReader) {}

  execute(query: ReadVersionQuery): Promise<StoredVersion | undefined> {
    return this.reader.vread(query.resourceType, query.id, query.versionId);
  }
}
