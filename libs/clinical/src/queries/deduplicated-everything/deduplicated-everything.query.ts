import { Query } from '@nestjs/cqrs';
import type { Provenance } from 'fhir/r4';
import type { EverythingCriteria } from '@fa/fhir-store';
import type { FactEntry } from '../../domain/clinical-record';

export type DeduplicatedEverythingResult =
  | {
      status: 'found';
      entries: FactEntry[];
      /** The Provenance of each fact of the page that several source resources hold. */
      provenances: Provenance[];
      total: number;
      hasMore: boolean;
    }
  | { status: 'not-found' }
  | { status: 'gone'; at: Date };

/** Patient/$everything?dedup=true: one entry per clinical fact, naming every source resource; one page of it. */
export class DeduplicatedEverythingQuery extends Query<DeduplicatedEverythingResult> {
  constructor(readonly criteria: EverythingCriteria) {
    super();
  }
}
