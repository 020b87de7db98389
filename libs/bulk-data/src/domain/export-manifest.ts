import type { OperationOutcome } from 'fhir/r4';
import { exportUnits, type ExportJobState } from './export-job';

/** The Bulk Data (STU2) complete-status body; organized by patient, STU3's outputOrganizedBy and continuesInFile. */
export interface ExportManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: true;
  outputOrganizedBy?: 'Patient';
  /** `type` is absent when the output is organized by patient (files of mixed types). */
  output: { type?: string; url: string; count: number; continuesInFile?: string }[];
  deleted: { type: string; url: string; count: number }[];
  error: { type: 'OperationOutcome'; url: string; count: number }[];
}

/** The file name of a job's error OperationOutcomes. */
export const ERROR_FILE = 'errors.ndjson';

/**
 * The manifest of a completed job: every non-empty part as an output (`Provenance` for associated data), the
 * deletions' Bundles under `deleted`, and the errors file when there were errors. `fileUrl` makes each absolute.
 */
export function exportManifest(state: ExportJobState, fileUrl: (file: string) => string): ExportManifest {
  const request = state.request!;
  const output: ExportManifest['output'] = [];
  const deleted: ExportManifest['deleted'] = [];
  for (const unit of exportUnits(request)) {
    const parts = state.checkpoints[unit.key]?.parts ?? [];
    parts.forEach((part, i) => {
      if (part.count === 0) return;
      const entry = {
        type: unit.kind === 'provenance' ? 'Provenance' : unit.type,
        url: fileUrl(part.file),
        count: part.count,
      };
      if (unit.kind === 'deleted') deleted.push({ ...entry, type: 'Bundle' });
      else if (unit.kind === 'blocks')
        output.push({
          url: entry.url,
          count: entry.count,
          ...(part.continues && parts[i + 1] ? { continuesInFile: fileUrl(parts[i + 1].file) } : {}),
        });
      else output.push(entry);
    });
  }
  return {
    transactionTime: request.transactionTime,
    request: request.request,
    requiresAccessToken: true,
    ...(request.organizeOutputBy ? { outputOrganizedBy: request.organizeOutputBy } : {}),
    output,
    deleted,
    error:
      request.errors.length > 0
        ? [{ type: 'OperationOutcome', url: fileUrl(ERROR_FILE), count: request.errors.length }]
        : [],
  };
}

/** The errors file: one OperationOutcome per line. */
export function errorOutcomes(state: ExportJobState): OperationOutcome[] {
  return (state.request?.errors ?? []).map((issue) => ({
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: issue.code,
        diagnostics: issue.diagnostics,
        ...(issue.expression ? { expression: [issue.expression] } : {}),
      },
    ],
  }));
}
