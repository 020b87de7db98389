import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { IdentityReader, LinkPage } from '../identity.reader';
import { QueryLinksQuery } from './query-links.query';

@QueryHandler(QueryLinksQuery)
export class QueryLinksHandler implements IQueryHandler<QueryLinksQuery, LinkPage> {
  constructor(private readonly reader: IdentityReader) {}

  execute(query: QueryLinksQuery): Promise<LinkPage> {
    return this.reader.links(query.criteria);
  }
}
