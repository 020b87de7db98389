import { Query } from '@nestjs/cqrs';
import type { SearchRequest } from '@fa/fhir';
import type { SearchResult } from '../search/fhir-search.reader';

/** FHIR type search; with request.asOf, the answer the same search would have given at that instant. */
export class SearchResourcesQuery extends Query<SearchResult> {
  constructor(readonly request: SearchRequest) {
    super();
  }
}
