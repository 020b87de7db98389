import type { OriginLineage } from './lineage';

/** A received record that cannot be a resource, in stream IngestionRejected-<source>: nothing is lost silently. */
export const INGESTION_REJECTED = 'IngestionRejected';

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

/** Metadata of an IngestionRejected event. */
export interface IngestionRejectedMetadata {
  source: string;
  origin: OriginLineage;
  receivedAt: string;
  ingestionInstance: string;
}
