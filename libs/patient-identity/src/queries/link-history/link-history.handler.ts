import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { IdentityDecision, IdentityReader } from '../identity.reader';
import { LinkHistoryQuery } from './link-history.query';

@QueryHandler(LinkHistoryQuery)
export class LinkHistoryHandler implements IQueryHandler<LinkHistoryQuery, IdentityDecision[]> {
  constructor(private readonly reader: IdentityReader) {}

  execute(query: LinkHistoryQuery): Promise<IdentityDecision[]> {
    return this.reader.history(query.criteria);
  }
}
