import type { RecordedEvent } from '@fa/event-store';

/** One stream per export job: `BulkExport-<jobId>`. */
export const EXPORT_STREAM_PREFIX = 'BulkExport-';

export const EXPORT_REQUESTED = 'ExportRequested';
export const EXPORT_PROGRESSED = 'ExportProgressed';
export const EXPORT_COMPLETED = 'ExportCompleted';
export const EXPORT_FAILED = 'ExportFailed';
export const EXPORT_CANCELLED = 'ExportCancelled';

export type ExportLevel = 'system' | 'patient' | 'group';

/**
 * What one pass of an export writes: a type's resources, its deletions in the window, its Provenance, or (with
 * organizeOutputBy=Patient) every patient's block of resources of every type.
 */
export type ExportUnitKind = 'resources' | 'deleted' | 'provenance' | 'blocks';

export interface ExportUnit {
  /** `<Type>`, `<Type>#deleted`, `<Type>#provenance` or `blocks`: the key of its checkpoint. */
  key: string;
  type: string;
  kind: ExportUnitKind;
}

/** A problem the manifest's `error` reports (a type the token may not read, a parameter handled leniently). */
export interface ExportIssue {
  code: 'forbidden' | 'not-supported' | 'not-found' | 'invalid' | 'exception';
  diagnostics: string;
  expression?: string;
}

export interface ExportRequestedData {
  jobId: string;
  clientId: string;
  /** The kick-off request's full URL (the manifest's `request`). */
  request: string;
  level: ExportLevel;
  groupId?: string;
  /** The instant the export reads at (its snapshot): the manifest's transactionTime. */
  transactionTime: string;
  /**
   * For a current export: PostgreSQL's snapshot xmax at kick-off. The job waits until every transaction older
   * than it has ended and the read model holds the log's head, so no version recorded by transactionTime is
   * still on its way.
   */
  horizon?: string;
  since?: string;
  /** `_until` (STU3): the state at this instant when it is before transactionTime. */
  until?: string;
  types: string[];
  /** `_typeFilter` queries by type (the part after `?`), OR'ed within a type. */
  typeFilters: Record<string, string[]>;
  /** `_elements` as given: `name` applies to every type, `Patient.name` to Patient only (see elementsOf). */
  elements?: string[];
  /** The patients whose compartments are exported (Patient and Group level); absent at system level. */
  patients?: string[];
  includeProvenance: boolean;
  /**
   * organizeOutputBy (STU3): files of resource blocks, each a header Parameters naming the patient, then the
   * patient and its compartment's resources (of every type exported), instead of one type per file.
   */
  organizeOutputBy?: 'Patient';
  /** A granular scope's search constraint by type (applied to every filter of the type). */
  constraints: Record<string, string>;
  errors: ExportIssue[];
  /** How long the files are kept after completion. */
  expiresAfterMs: number;
}

export interface ExportPart {
  /** File name under the job's directory, e.g. `Observation-2.ndjson`. */
  file: string;
  count: number;
  bytes: number;
  /** A resource block goes on in the next part (organizeOutputBy: the manifest's continuesInFile). */
  continues?: boolean;
}

/**
 * Where a blocks unit stands: patient `patient` (an id), its types before index `type` written, the one at `type`
 * written up to `afterId`; `type` past the last: the patient is done. `open`: its header is written.
 */
export interface BlockCursor {
  patient: string;
  type: number;
  afterId?: string;
  open: boolean;
}

/** A checkpoint of one unit: its files so far (bytes fsynced), the last id written, whether it is done. */
export interface ExportProgressedData {
  unit: string;
  parts: ExportPart[];
  lastId?: string;
  /** A blocks unit's position (lastId is unused there). */
  cursor?: BlockCursor;
  done: boolean;
}

export interface ExportCompletedData {
  completedAt: string;
}

export interface ExportFailedData {
  reason: string;
}

export interface ExportCancelledData {
  by: string;
}

export type ExportEvent =
  | { type: typeof EXPORT_REQUESTED; data: ExportRequestedData }
  | { type: typeof EXPORT_PROGRESSED; data: ExportProgressedData }
  | { type: typeof EXPORT_COMPLETED; data: ExportCompletedData }
  | { type: typeof EXPORT_FAILED; data: ExportFailedData }
  | { type: typeof EXPORT_CANCELLED; data: ExportCancelledData };

const TYPES = new Set<string>([
  EXPORT_REQUESTED,
  EXPORT_PROGRESSED,
  EXPORT_COMPLETED,
  EXPORT_FAILED,
  EXPORT_CANCELLED,
]);

export function asExportEvent(recorded: RecordedEvent): (ExportEvent & { recordedAt: Date }) | undefined {
  if (!TYPES.has(recorded.type)) return undefined;
  return { type: recorded.type, data: recorded.data, recordedAt: recorded.recordedAt } as ExportEvent & {
    recordedAt: Date;
  };
}
