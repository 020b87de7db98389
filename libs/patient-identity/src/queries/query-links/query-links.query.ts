import { Query } from '@nestjs/cqrs';
import type { LinkCriteria, PatientLink } from '../identity.reader';

/** $mdm-query-links: links current now, or at criteria.asOf. */
export class QueryLinksQuery extends Query<PatientLink[]> {
  constructor(readonly criteria: LinkCriteria) {
    super();
  }
}
