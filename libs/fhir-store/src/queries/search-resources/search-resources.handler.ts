import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { FhirSearchReader, SearchResult } from '../search/fhir-search.reader';
import { SearchResourcesQuery } from './search-resources.query';

@QueryHandler(SearchResourcesQuery)
export class SearchResourcesHandler implements IQueryHandler<SearchResourcesQuery, SearchResult> {
  constructor(private readonly reader: FhirSearchReader) {}

  execute(query: SearchResourcesQuery): Promise<SearchResult> {
    return this.reader.search(query.request);
  }
}
