/**
 * The bulk-sync context's events: one stream per source (`BulkSync-<source>`), the runs of the Bulk Data
 * client that pulls that source's exports. The last completed run's transactionTime is the next run's `_since`.
 */

export const BULK_SYNC_STARTED = 'BulkSyncStarted';
/** A run left unfinished (a crash after kick-off) is continued from its status URL by the next run. */
export const BULK_SYNC_RESUMED = 'BulkSyncResumed';
export const BULK_SYNC_COMPLETED = 'BulkSyncCompleted';
export const BULK_SYNC_CANCELLED = 'BulkSyncCancelled';
export const BULK_SYNC_FAILED = 'BulkSyncFailed';
export const BULK_SYNC_COMPLETENESS_WARNED = 'BulkSyncCompletenessWarned';

export function bulkSyncStreamId(source: string): string {
  return `BulkSync-${source}`;
}

/** What one run did with one resource type. */
export interface TypeTally {
  files: number;
  /** The manifest's count for the type (summed over its files), when the server gave one for every file. */
  manifestCount?: number;
  /** Lines read from the files. */
  received: number;
  recorded: number;
  unchanged: number;
  rejected: number;
  /** Sent to Kafka (`--to kafka`): recorded/unchanged are then the consumer's to count. */
  published: number;
}

export interface BulkSyncStartedData {
  source: string;
  server: string;
  kickoffUrl: string;
  statusUrl: string;
  /** The `_since` sent; none: a full export. */
  since?: string;
  types?: string[];
  group?: string;
  sink: 'store' | 'kafka';
}

export interface BulkSyncResumedData {
  source: string;
  statusUrl: string;
  /** The status URL's answer to the resuming poll (202 running, 200 complete). */
  status: number;
}

export interface BulkSyncCompletedData {
  source: string;
  server: string;
  statusUrl: string;
  transactionTime: string;
  since?: string;
  tallies: Record<string, TypeTally>;
  /**
   * Current resources per type held for the source after the run (`--to store`; added later: runs recorded
   * before, and `--to kafka` runs, whose consumer records after the run, have none).
   */
  held?: Record<string, number>;
}

export interface BulkSyncCancelledData {
  source: string;
  statusUrl: string;
  reason: string;
}

export interface BulkSyncFailedData {
  source: string;
  statusUrl: string;
  reason: string;
}

export interface CompletenessWarning {
  resourceType: string;
  /**
   * below-manifest-count: fewer lines than the manifest counts; drop-from-previous: a full export with fewer
   * resources than the previous full one; held-drop-from-previous: an incremental run after which the source
   * holds fewer resources of the type than after the previous run.
   */
  kind: 'below-manifest-count' | 'drop-from-previous' | 'held-drop-from-previous';
  expected: number;
  actual: number;
}

export interface BulkSyncCompletenessWarnedData {
  source: string;
  statusUrl: string;
  /** The drop (a fraction) beyond which a type's count warns. */
  threshold: number;
  warnings: CompletenessWarning[];
}

export type BulkSyncEvent =
  | { type: typeof BULK_SYNC_STARTED; data: BulkSyncStartedData }
  | { type: typeof BULK_SYNC_RESUMED; data: BulkSyncResumedData }
  | { type: typeof BULK_SYNC_COMPLETED; data: BulkSyncCompletedData }
  | { type: typeof BULK_SYNC_CANCELLED; data: BulkSyncCancelledData }
  | { type: typeof BULK_SYNC_FAILED; data: BulkSyncFailedData }
  | { type: typeof BULK_SYNC_COMPLETENESS_WARNED; data: BulkSyncCompletenessWarnedData };
