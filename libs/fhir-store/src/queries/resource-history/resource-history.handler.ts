import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { FhirStoreReader, HistoryPage } from '../fhir-store.reader';
import { ResourceHistoryQuery } from './resource-history.query';

@QueryHandler(ResourceHistoryQuery)
export class ResourceHistoryHandler implements IQueryHandler<ResourceHistoryQuery, HistoryPage> {
  constructor(private readonly reader: FhirStoreReader) {}

  execute(query: ResourceHistoryQuery): Promise<HistoryPage> {
    return this.reader.history(query.criteria);
  }
}
