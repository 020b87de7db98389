import {
  BULK_SYNC_CANCELLED,
  BULK_SYNC_COMPLETED,
  BULK_SYNC_COMPLETENESS_WARNED,
  BULK_SYNC_FAILED,
  BULK_SYNC_RESUMED,
  BULK_SYNC_STARTED,
  BulkSyncCompletedData,
  BulkSyncEvent,
  BulkSyncStartedData,
  TypeTally,
} from '../events';
import { checkCompleteness } from './completeness';

/** A source's bulk-sync history as the next run needs it. */
export interface BulkSyncState {
  /** Revision of the source's stream (-1: no run yet). */
  revision: number;
  /** The run started and neither completed, cancelled nor failed (a crash leaves it so). */
  running?: BulkSyncStartedData;
  /** The last completed run: its transactionTime is the next `--since auto`. */
  lastCompleted?: { statusUrl: string; transactionTime: string; completedRuns: number };
  /** Resources per type of the last completed full export (no `_since`), for the completeness check. */
  lastFullCounts?: Record<string, number>;
  /** Resources per type held for the source after the last completed run (when it recorded them). */
  lastHeld?: Record<string, number>;
}

export const initialBulkSyncState: BulkSyncState = { revision: -1 };

export type BulkSyncCommand =
  | { kind: 'start'; started: BulkSyncStartedData }
  /** The unfinished run's status URL answered (202/200): this run continues it. */
  | { kind: 'resume'; statusUrl: string; status: number }
  | {
      kind: 'complete';
      statusUrl: string;
      transactionTime: string;
      tallies: Record<string, TypeTally>;
      /** Resources per type held for the source after the run (none: not known, e.g. `--to kafka`). */
      held?: Record<string, number>;
      /** The drop (a fraction) beyond which a type's count warns. */
      threshold: number;
    }
  | { kind: 'cancel'; statusUrl: string; reason: string }
  | { kind: 'fail'; statusUrl: string; reason: string };

export class BulkSyncRejected extends Error {}

/** Pure: what a command on a source's bulk-sync stream records. */
export function decide(state: BulkSyncState, command: BulkSyncCommand): BulkSyncEvent[] {
  if (command.kind === 'start') return [{ type: BULK_SYNC_STARTED, data: command.started }];
  const running = state.running;
  if (!running || running.statusUrl !== command.statusUrl)
    throw new BulkSyncRejected(
      `no run of ${command.statusUrl} is in progress for this source${running ? ` (the running one is ${running.statusUrl})` : ''}`,
    );
  const { source } = running;
  if (command.kind === 'resume')
    return [
      { type: BULK_SYNC_RESUMED, data: { source, statusUrl: command.statusUrl, status: command.status } },
    ];
  if (command.kind === 'cancel')
    return [
      { type: BULK_SYNC_CANCELLED, data: { source, statusUrl: command.statusUrl, reason: command.reason } },
    ];
  if (command.kind === 'fail')
    return [
      { type: BULK_SYNC_FAILED, data: { source, statusUrl: command.statusUrl, reason: command.reason } },
    ];
  const previous = state.lastCompleted?.transactionTime;
  if (previous && Date.parse(command.transactionTime) < Date.parse(previous))
    throw new BulkSyncRejected(
      `the export's transactionTime ${command.transactionTime} is before the last completed run's ${previous}: the server's clock or export is wrong`,
    );
  const completed: BulkSyncCompletedData = {
    source,
    server: running.server,
    statusUrl: command.statusUrl,
    transactionTime: command.transactionTime,
    ...(running.since ? { since: running.since } : {}),
    tallies: command.tallies,
    ...(command.held ? { held: command.held } : {}),
  };
  const types = running.types;
  const previousFull =
    running.since || !state.lastFullCounts
      ? undefined
      : Object.fromEntries(Object.entries(state.lastFullCounts).filter(([t]) => !types || types.includes(t)));
  // An incremental run lists changes only: what the source holds after it is compared with the previous run's.
  const warnings = checkCompleteness(
    command.tallies,
    running.since ? { previousHeld: state.lastHeld, held: command.held } : { previousFull },
    command.threshold,
  );
  return [
    { type: BULK_SYNC_COMPLETED, data: completed },
    ...(warnings.length > 0
      ? [
          {
            type: BULK_SYNC_COMPLETENESS_WARNED,
            data: { source, statusUrl: command.statusUrl, threshold: command.threshold, warnings },
          } as const,
        ]
      : []),
  ];
}

/** Pure: the state after one more event of the stream. */
export function evolve(state: BulkSyncState, event: BulkSyncEvent): BulkSyncState {
  const revision = state.revision + 1;
  switch (event.type) {
    case BULK_SYNC_STARTED:
      return { ...state, revision, running: event.data };
    case BULK_SYNC_COMPLETED: {
      const completedRuns = (state.lastCompleted?.completedRuns ?? 0) + 1;
      const full = event.data.since === undefined;
      return {
        ...state,
        revision,
        running: undefined,
        lastCompleted: {
          statusUrl: event.data.statusUrl,
          transactionTime: event.data.transactionTime,
          completedRuns,
        },
        lastFullCounts: full
          ? Object.fromEntries(Object.entries(event.data.tallies).map(([t, tally]) => [t, tally.received]))
          : state.lastFullCounts,
        lastHeld: event.data.held,
      };
    }
    case BULK_SYNC_CANCELLED:
    case BULK_SYNC_FAILED:
      return { ...state, revision, running: undefined };
    case BULK_SYNC_RESUMED:
    case BULK_SYNC_COMPLETENESS_WARNED:
      return { ...state, revision };
  }
}
