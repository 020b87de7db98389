import {
  EXPORT_CANCELLED,
  EXPORT_COMPLETED,
  EXPORT_FAILED,
  EXPORT_PROGRESSED,
  EXPORT_REQUESTED,
  type BlockCursor,
  type ExportEvent,
  type ExportPart,
  type ExportProgressedData,
  type ExportRequestedData,
  type ExportUnit,
} from '../events/export-events';

export type ExportStatus = 'none' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface UnitCheckpoint {
  parts: ExportPart[];
  lastId?: string;
  cursor?: BlockCursor;
  done: boolean;
}

/** An export job folded from its stream. */
export interface ExportJobState {
  status: ExportStatus;
  request?: ExportRequestedData;
  checkpoints: Record<string, UnitCheckpoint>;
  completedAt?: string;
  failure?: string;
}

export const INITIAL_EXPORT_JOB: ExportJobState = { status: 'none', checkpoints: {} };

/** What may be asked of a job: by the kick-off, by the worker, by the client's DELETE. */
export type ExportJobCommand =
  | { kind: 'request'; request: ExportRequestedData }
  | { kind: 'progress'; progress: ExportProgressedData }
  | { kind: 'complete'; at: Date }
  | { kind: 'fail'; reason: string }
  | { kind: 'cancel'; by: string };

export class ExportJobRejection extends Error {
  override readonly name = 'ExportJobRejection';
  constructor(
    readonly reason: 'exists' | 'not-found' | 'not-running' | 'incomplete',
    message: string,
  ) {
    super(message);
  }
}

/** Pure decider: the events a command yields on the job's state, or a rejection. */
export function decideExportJob(state: ExportJobState, command: ExportJobCommand): ExportEvent[] {
  switch (command.kind) {
    case 'request':
      if (state.status !== 'none') throw new ExportJobRejection('exists', 'This export job already exists');
      return [{ type: EXPORT_REQUESTED, data: command.request }];
    case 'progress':
      if (state.status !== 'running')
        throw new ExportJobRejection('not-running', `The export is ${state.status}, not running`);
      if (!exportUnits(state.request!).some((u) => u.key === command.progress.unit))
        throw new ExportJobRejection('not-found', `The export has no unit ${command.progress.unit}`);
      return [{ type: EXPORT_PROGRESSED, data: command.progress }];
    case 'complete': {
      if (state.status !== 'running')
        throw new ExportJobRejection('not-running', `The export is ${state.status}, not running`);
      const open = exportUnits(state.request!).filter((u) => !state.checkpoints[u.key]?.done);
      if (open.length > 0)
        throw new ExportJobRejection('incomplete', `Not yet written: ${open.map((u) => u.key).join(', ')}`);
      return [{ type: EXPORT_COMPLETED, data: { completedAt: command.at.toISOString() } }];
    }
    case 'fail':
      if (state.status !== 'running')
        throw new ExportJobRejection('not-running', `The export is ${state.status}, not running`);
      return [{ type: EXPORT_FAILED, data: { reason: command.reason } }];
    case 'cancel':
      if (state.status === 'none' || state.status === 'cancelled')
        throw new ExportJobRejection('not-found', 'No such export job');
      return [{ type: EXPORT_CANCELLED, data: { by: command.by } }];
  }
}

export function evolveExportJob(state: ExportJobState, event: ExportEvent): ExportJobState {
  switch (event.type) {
    case EXPORT_REQUESTED:
      return { status: 'running', request: event.data, checkpoints: {} };
    case EXPORT_PROGRESSED: {
      const { unit, ...checkpoint } = event.data;
      return { ...state, checkpoints: { ...state.checkpoints, [unit]: checkpoint } };
    }
    case EXPORT_COMPLETED:
      return { ...state, status: 'completed', completedAt: event.data.completedAt };
    case EXPORT_FAILED:
      return { ...state, status: 'failed', failure: event.data.reason };
    case EXPORT_CANCELLED:
      return { ...state, status: 'cancelled' };
  }
}

/**
 * The passes of an export, in the order the worker runs them: each type's resources (organized by patient: one
 * pass writing every patient's block instead), then (with `_since`) its deletions in the window, then (with
 * includeAssociatedData) the Provenance of what it wrote.
 */
export function exportUnits(request: ExportRequestedData): ExportUnit[] {
  const blocks: ExportUnit[] = request.organizeOutputBy
    ? [{ key: 'blocks', type: 'Patient', kind: 'blocks' }]
    : [];
  return blocks.concat(
    request.types.flatMap((type) => [
      ...(request.organizeOutputBy ? [] : [{ key: type, type, kind: 'resources' as const }]),
      ...(request.since ? [{ key: `${type}#deleted`, type, kind: 'deleted' as const }] : []),
      ...(request.includeProvenance
        ? [{ key: `${type}#provenance`, type, kind: 'provenance' as const }]
        : []),
    ]),
  );
}

/** Share of the units done and resources written so far, for X-Progress. */
export function exportProgress(state: ExportJobState): { done: number; total: number; resources: number } {
  const units = state.request ? exportUnits(state.request) : [];
  const resources = Object.values(state.checkpoints).reduce(
    (n, c) => n + c.parts.reduce((m, p) => m + p.count, 0),
    0,
  );
  return { done: units.filter((u) => state.checkpoints[u.key]?.done).length, total: units.length, resources };
}

/** The instant an export reads at: its transactionTime, or `_until` when that is earlier. */
export function snapshotOf(request: ExportRequestedData): Date {
  const at = new Date(request.transactionTime);
  const until = request.until ? new Date(request.until) : undefined;
  return until && until < at ? until : at;
}
