import type { BulkSyncStartedData } from '../events';
import type { BulkSyncState } from './bulk-sync-decider';

/** What a run asks the server for (the `_since` resolved: `auto` is the last completed run's transactionTime). */
export interface ExportRequest {
  server: string;
  since?: string;
  types?: string[];
  group?: string;
  sink: 'store' | 'kafka';
}

/**
 * Pure: how a run starts. A run left unfinished (killed after its kick-off: started, never completed, cancelled
 * or failed) that asked for the same export is resumed from its status URL; otherwise the run kicks off (the
 * unfinished one, if any, asked for another export and is superseded).
 */
export type RunPlan =
  | { kind: 'resume'; unfinished: BulkSyncStartedData }
  | { kind: 'kick-off'; superseded?: BulkSyncStartedData };

export function planRun(state: BulkSyncState, request: ExportRequest): RunPlan {
  const unfinished = state.running;
  if (!unfinished) return { kind: 'kick-off' };
  const sameTypes = (unfinished.types ?? []).join(',') === (request.types ?? []).join(',');
  const same =
    unfinished.server === request.server &&
    unfinished.since === request.since &&
    unfinished.group === request.group &&
    unfinished.sink === request.sink &&
    sameTypes;
  return same ? { kind: 'resume', unfinished } : { kind: 'kick-off', superseded: unfinished };
}

/**
 * Pure: what the status URL's answer to the resuming run's first poll means. 202 (still running) or 200 (done,
 * its manifest waiting): the export is continued. 404 or 410: the server no longer has it (expired, deleted or
 * restarted): kick off anew, with the same `_since`, after recording the old run as failed. Anything else (a 4xx
 * the server has no business answering) fails the run with the status in its reason.
 */
export function onResumePoll(status: number): 'continue' | 'kick-off-anew' | 'fail' {
  if (status === 200 || status === 202) return 'continue';
  if (status === 404 || status === 410) return 'kick-off-anew';
  return 'fail';
}
