import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { FhirStoreReader, ReadOutcome } from '../fhir-store.reader';
import { ReadResourceQuery } from './read-resource.query';

@QueryHandler(ReadResourceQuery)
export class ReadResourceHandler implements IQueryHandler<ReadResourceQuery, ReadOutcome> {
  constructor(private readonly reader: FhirStoreReader) {}

  execute(query: ReadResourceQuery): Promise<ReadOutcome> {
    return this.reader.read(query.resourceType, query.id, query.asOf);
  }
}
