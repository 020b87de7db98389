import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { IdentityReader, PatientLink } from '../identity.reader';
import { QueryLinksQuery } from './query-links.query';

@QueryHandler(QueryLinksQuery)
export class QueryLinksHandler implements IQueryHandler<QueryLinksQuery, PatientLink[]> {
  constructor(private readonly reader: IdentityReader) {}

  execute(query: QueryLinksQuery): Promise<PatientLink[]> {
    return this.reader.links(query.criteria);
  }
}
