/** Lineage of what ingestion records: where a version came from and what was done to it. */

/** The FHIR Bulk Data export a record was pulled from (bulk-sync): the file and line it was on. */
export interface BulkExportOrigin {
  /** The FHIR base URL of the exporting server. */
  server: string;
  /** The export's status (polling) URL. */
  statusUrl: string;
  /** The manifest's transactionTime. */
  transactionTime: string;
  fileUrl: string;
  line: number;
  /** The entry of a Bundle on that line. */
  entryIndex?: number;
}

/**
 * Where a version came from. Exactly one of file / kafka / http / bulk is set, except that bulk-sync's records
 * relayed through Kafka carry both their kafka coordinates and the export they were pulled from.
 */
export interface OriginLineage {
  bulk?: BulkExportOrigin;
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
