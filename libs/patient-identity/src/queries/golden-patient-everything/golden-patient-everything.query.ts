import { Query } from '@nestjs/cqrs';
import type { Resource } from 'fhir/r4';
import type { EverythingCriteria } from '@fa/fhir-store';

/** An entry of a golden patient's $everything: a member's stored version, or the golden Patient built on read. */
export interface GoldenEverythingEntry {
  resourceType: string;
  id: string;
  resource: Resource | null;
}

export type GoldenPatientEverythingResult =
  | { status: 'found'; entries: GoldenEverythingEntry[]; total: number; hasMore: boolean }
  | { status: 'not-found' }
  | { status: 'merged'; at: Date };

/**
 * Patient/$everything of a golden patient: the golden Patient first, then the union (each resource once) of
 * the $everything of every source patient linked to it at the instant; one page of that.
 */
export class GoldenPatientEverythingQuery extends Query<GoldenPatientEverythingResult> {
  constructor(readonly criteria: EverythingCriteria) {
    super();
  }
}
