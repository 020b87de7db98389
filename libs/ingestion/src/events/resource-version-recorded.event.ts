import type { Resource } from 'fhir/r4';

/** Published language of the Ingestion context: the events every projection consumes. */

export const RESOURCE_VERSION_RECORDED = 'ResourceVersionRecorded';
export const RESOURCE_DELETED = 'ResourceDeleted';
export const INGESTION_REJECTED = 'IngestionRejected';

/** Stream of one aggregated resource: "<ResourceType>-<aggregateId>". */
export function resourceStreamId(resourceType: string, aggregateId: string): string {
  return `${resourceType}-${aggregateId}`;
}

/** Stream of everything rejected from one source: "IngestionRejected-<source>". */
export function rejectionStreamId(source: string): string {
  return `IngestionRejected-${source}`;
}

/** Where a version came from. Exactly one of file / kafka / http is set. */
export interface OriginLineage {
  file?: { path: string; line?: number; entryIndex?: number };
  kafka?: {
    topic: string;
    partition: number;
    offset: string;
    key?: string;
    timestamp?: string;
    entryIndex?: number;
    /** The producer's `source-received-at` header: when the source system received or emitted the record. */
    sourceReceivedAt?: string;
  };
  http?: { requestId: string };
  correlationId?: string;
}

export interface Transformation {
  name: string;
  version: string;
  detail?: string;
}

export interface ValidationIssue {
  severity: 'fatal' | 'error' | 'warning' | 'information';
  code: string;
  diagnostics: string;
  expression?: string[];
}

/** The lineage of one recorded version: event metadata of ResourceVersionRecorded / ResourceDeleted. */
export interface ResourceVersionLineage {
  source: string;
  sourceResourceType: string;
  sourceId: string;
  sourceVersionId?: string;
  sourceLastUpdated?: string;
  origin: OriginLineage;
  receivedAt: string;
  ingestionInstance: string;
  /** SHA-256 (hex) of the canonical JSON of the normalized resource without our meta. */
  contentHash: string;
  transformations: Transformation[];
  validationIssues: ValidationIssue[];
  /**
   * False when the source sent this version out of order (its meta.lastUpdated is older than the one we hold):
   * it is kept in history and lineage but must not become the current state.
   */
  supersedesCurrent: boolean;
  /** Newest source meta.lastUpdated held for this resource after this version (decides lateness of the next). */
  latestSourceLastUpdated?: string;
}

export interface ResourceVersionRecordedData {
  resourceType: string;
  /** Our id of the resource: UUIDv5 of (source, resourceType, sourceId). */
  id: string;
  /** The normalized resource as recorded (id and references rewritten; meta.versionId/lastUpdated not set). */
  resource: Resource;
}

export interface ResourceDeletedData {
  resourceType: string;
  id: string;
}

export interface IngestionRejectedData {
  source: string;
  reason: string;
  /** Stable machine-readable reason code, e.g. "not-json", "not-a-resource", "unknown-resource-type", "too-large". */
  code: string;
  origin: OriginLineage;
  /** Up to 4 KB of the rejected input (the full bytes go to the dead-letter target). */
  excerpt?: string;
  receivedAt: string;
}
