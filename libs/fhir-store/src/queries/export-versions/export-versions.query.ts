import { Query } from '@nestjs/cqrs';
import type { SearchFilter } from '@fa/fhir';
import type { ResourceVersionLineage } from '@fa/ingestion';

/**
 * One keyset page of the versions a Bulk Data export writes for a type: those current at `asOf` (the export's
 * snapshot instant), recorded after `since`, matching any of `filterSets` (OR of `_typeFilter`s, each an AND of
 * search filters), within the Patient compartment of `patients` when given; ordered by id, after `afterId`.
 */
export interface ExportPageCriteria {
  resourceType: string;
  asOf: Date;
  since?: Date;
  /** OR of ANDs (each `_typeFilter` of the type); undefined: every resource of the type. */
  filterSets?: SearchFilter[][];
  /** The Patient compartment of these patients (ids), or of any patient ('any'); undefined: no restriction. */
  patients?: string[] | 'any';
  /** The deletions in the window instead (versions current at asOf that are deletes, recorded after since). */
  deleted?: boolean;
  afterId?: string;
  limit: number;
  /** Also each version's lineage (for its Provenance). */
  withLineage?: boolean;
}

export interface ExportRow {
  id: string;
  versionId: number;
  recordedFrom: Date;
  /** The resource's JSON text as stored (null for a delete). */
  json: string | null;
  lineage?: ResourceVersionLineage;
  eventId: string;
}

export class ExportVersionsQuery extends Query<ExportRow[]> {
  constructor(readonly criteria: ExportPageCriteria) {
    super();
  }
}

/** The types a system-level export at `asOf` finds (at least one resource current then), and the R4 Patient compartment's. */
export interface ExportTypes {
  present: string[];
  patientCompartment: string[];
}

export class ExportTypesQuery extends Query<ExportTypes> {
  constructor(readonly asOf: Date) {
    super();
  }
}
