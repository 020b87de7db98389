import { Query } from '@nestjs/cqrs';
import type { LinkCriteria, LinkPage } from '../identity.reader';

/** $mdm-query-links: one page of the links current now, or at criteria.asOf. */
export class QueryLinksQuery extends Query<LinkPage> {
  constructor(readonly criteria: LinkCriteria) {
    super();
  }
}
