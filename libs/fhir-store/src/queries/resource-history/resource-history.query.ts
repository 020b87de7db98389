import { Query } from '@nestjs/cqrs';
import type { HistoryCriteria, HistoryPage } from '../fhir-store.reader';

/** FHIR _history at instance (type and id), type (type only) or system level (neither). */
export class ResourceHistoryQuery extends Query<HistoryPage> {
  constructor(readonly criteria: HistoryCriteria) {
    super();
  }
}
