import { Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { decodeFhirJson, MAX_LINE_BYTES } from '@fa/ingestion';
import { RecordBulkSyncCommand } from '../commands/record-bulk-sync/record-bulk-sync.command';
import { BulkDataError, BulkDataHttp } from '../client/bulk-data-http';
import type { ClientJwk } from '../client/client-key';
import { cancelExport, kickOff, kickOffUrl, pollUntilComplete, probeExport } from '../client/export-job';
import { downloadLines } from '../client/ndjson-download';
import type { BulkSyncState } from '../domain/bulk-sync-decider';
import type { ManifestFile } from '../domain/manifest';
import { onResumePoll, planRun, type ExportRequest } from '../domain/resume';
import type { CompletenessWarning, TypeTally } from '../events';
import { bulkSyncMetrics } from '../bulk-sync.metrics';
import { BulkSyncHistoryQuery } from '../queries/bulk-sync-history/bulk-sync-history.query';
import type { ExportLine, RecordSink } from './record-sink';

export interface BulkSyncOptions {
  source: string;
  /** The server's FHIR base URL. */
  url: string;
  clientId: string;
  key: ClientJwk;
  scope: string;
  tokenUrl?: string;
  types?: string[];
  group?: string;
  /** An instant, 'auto' (the last completed run's transactionTime; none: a full export) or none. */
  since?: string;
  sink: RecordSink;
  /** Files downloaded at once (default 2). */
  parallel?: number;
  /** Lines per append (default 500). */
  batchSize?: number;
  /** A type's drop beyond this fraction warns (default 0.1). */
  completenessThreshold?: number;
  /**
   * Resources per type held for the source once the run's records are in the read model (`--to store`): kept
   * with the completed run, an incremental run's are compared with the previous run's. None: not compared.
   */
  heldTotals?: () => Promise<Record<string, number>>;
  /** Poll interval when the server sends no Retry-After (default 2 s). */
  pollMs?: number;
  retryBaseMs?: number;
  signal: AbortSignal;
  onProgress?: (progress: BulkSyncProgress) => void;
  /** Retries and other notices (no PHI: URLs, counts, statuses). */
  onNotice?: (text: string) => void;
}

export type BulkSyncProgress =
  | { phase: 'exporting'; statusUrl: string; percent?: number; text: string | null }
  | { phase: 'downloading'; filesDone: number; files: number; lines: number; expected?: number };

export interface BulkSyncResult {
  statusUrl: string;
  transactionTime: string;
  since?: string;
  tallies: Record<string, TypeTally>;
  warnings: CompletenessWarning[];
  /** OperationOutcome files the manifest's `error` lists (not synced: server-side errors). */
  errorFiles: number;
}

export class BulkSyncCancelled extends Error {}

/** A manifest file as synced: its tally's type, and the resource type its lines must be. */
type SyncFile = ManifestFile & { lineType: string };

/** The tally of the manifest's `deleted` files (the resources they delete are of any type). */
export const DELETED = 'deleted';

const emptyTally = (): TypeTally => ({
  files: 0,
  received: 0,
  recorded: 0,
  unchanged: 0,
  rejected: 0,
  published: 0,
});

/**
 * One bulk-sync run of a source: kick-off (with `_since` from the source's last completed run when asked), poll,
 * download the files in parallel and hand their lines, batch by batch, to the sink; then record the run as
 * completed with its tallies (and completeness warnings). Aborting the signal (Ctrl-C) cancels the export at the
 * server and records the run as cancelled. A crash leaves the run started: the next run of the same export
 * continues it from its status URL while the server still has it (else kicks off anew with the same `_since`),
 * downloading its files again; ingestion records nothing twice (an exact repeat is unchanged).
 */
@Injectable()
export class BulkSyncRunner {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly queryBus: QueryBus,
  ) {}

  async run(options: BulkSyncOptions): Promise<BulkSyncResult> {
    const { source, signal } = options;
    const state = await this.queryBus.execute(new BulkSyncHistoryQuery(source));
    const since = options.since === 'auto' ? state.lastCompleted?.transactionTime : options.since;
    const http = new BulkDataHttp({
      base: options.url,
      clientId: options.clientId,
      key: options.key,
      scope: options.scope,
      tokenUrl: options.tokenUrl,
      signal,
      retryBaseMs: options.retryBaseMs,
      onRetry: (what, ms) => options.onNotice?.(`${what}: retrying in ${(ms / 1000).toFixed(1)} s`),
    });
    const request: ExportRequest = {
      server: options.url,
      ...(since ? { since } : {}),
      ...(options.types?.length ? { types: options.types } : {}),
      ...(options.group ? { group: options.group } : {}),
      sink: options.sink.kind,
    };
    const { statusUrl, firstWaitMs } = await this.begin(http, state, request, options);
    try {
      const manifest = await pollUntilComplete(http, statusUrl, {
        pollMs: options.pollMs ?? 2000,
        firstWaitMs,
        onProgress: (percent, text) => options.onProgress?.({ phase: 'exporting', statusUrl, percent, text }),
      });
      const tallies: Record<string, TypeTally> = {};
      const perTypeCounts = new Map<string, number | undefined>();
      // Deletions (transaction Bundles of DELETE entries, with _since) go through the same decode: deletes.
      const files: SyncFile[] = [
        ...manifest.output.map((f) => ({ ...f, lineType: f.type })),
        ...manifest.deleted.map((f) => ({ ...f, type: DELETED, lineType: 'Bundle' })),
      ];
      for (const file of files) {
        (tallies[file.type] ??= emptyTally()).files++;
        const known = perTypeCounts.has(file.type) ? perTypeCounts.get(file.type) : 0;
        perTypeCounts.set(
          file.type,
          known === undefined || file.count === undefined ? undefined : known + file.count,
        );
      }
      for (const [type, count] of perTypeCounts) if (count !== undefined) tallies[type].manifestCount = count;
      const expected = [...perTypeCounts.values()].every((c) => c !== undefined)
        ? [...perTypeCounts.values()].reduce<number>((a, c) => a + c!, 0)
        : undefined;
      let filesDone = 0;
      let lines = 0;
      const progress = () =>
        options.onProgress?.({
          phase: 'downloading',
          filesDone,
          files: files.length,
          lines,
          expected,
        });
      progress();
      const syncFile = async (file: SyncFile) => {
        const tally = tallies[file.type];
        const origin = {
          server: options.url,
          statusUrl,
          transactionTime: manifest.transactionTime,
          fileUrl: file.url,
        };
        let batch: ExportLine[] = [];
        let batchRecords = 0;
        const flush = async () => {
          if (batch.length === 0) return;
          const result = await options.sink.write(batch);
          batch = [];
          batchRecords = 0;
          tally.recorded += result.recorded;
          tally.unchanged += result.unchanged;
          tally.rejected += result.rejected;
          tally.published += result.published;
          for (const outcome of ['recorded', 'unchanged', 'rejected', 'published'] as const)
            if (result[outcome] > 0)
              bulkSyncMetrics.resources.inc({ source, type: file.type, outcome }, result[outcome]);
          progress();
        };
        for await (const item of downloadLines(http, file.url, {
          requiresAccessToken: manifest.requiresAccessToken,
          maxLineBytes: MAX_LINE_BYTES,
          onRetry: (text) => options.onNotice?.(text),
        })) {
          const at = { bulk: { ...origin, line: item.line } };
          let line: ExportLine | undefined;
          if ('tooLargeBytes' in item)
            line = {
              records: [
                {
                  kind: 'rejected',
                  code: 'too-large',
                  reason: `line ${item.line} is ${item.tooLargeBytes} bytes; the limit is ${MAX_LINE_BYTES}`,
                  origin: at,
                },
              ],
            };
          else if (item.bytes.some((b) => b !== 0x20 && b !== 0x09 && b !== 0x0d))
            // A file holds its manifest type only: a line of another type is rejected, not recorded.
            line = {
              bytes: item.bytes,
              records: decodeFhirJson(item.bytes, at, { expectedType: file.lineType }),
            };
          if (line) {
            tally.received++;
            lines++;
            batch.push(line);
            batchRecords += line.records.length;
          }
          if (batchRecords >= (options.batchSize ?? 500)) await flush();
        }
        await flush();
        filesDone++;
        progress();
      };
      await inParallel(files, options.parallel ?? 2, syncFile);
      const held = await options.heldTotals?.();
      const events = await this.record(source, {
        kind: 'complete',
        statusUrl,
        transactionTime: manifest.transactionTime,
        tallies,
        ...(held ? { held } : {}),
        threshold: options.completenessThreshold ?? 0.1,
      });
      const warned = events.find((e) => e.type === 'BulkSyncCompletenessWarned');
      return {
        statusUrl,
        transactionTime: manifest.transactionTime,
        ...(since ? { since } : {}),
        tallies,
        warnings: warned?.type === 'BulkSyncCompletenessWarned' ? warned.data.warnings : [],
        errorFiles: manifest.error.length,
      };
    } catch (error) {
      if (signal.aborted) {
        const answer = await cancelExport(http, statusUrl);
        await this.record(source, {
          kind: 'cancel',
          statusUrl,
          reason: `interrupted; DELETE answered ${answer}`,
        });
        throw new BulkSyncCancelled(
          `cancelled: the export ${statusUrl} was deleted at the server (${answer})`,
        );
      }
      await this.record(source, { kind: 'fail', statusUrl, reason: (error as Error).message.slice(0, 500) });
      throw error;
    }
  }

  /**
   * The export this run follows: the unfinished run's, when the server still has it (see planRun and
   * onResumePoll), else a new kick-off (recorded as started).
   */
  private async begin(
    http: BulkDataHttp,
    state: BulkSyncState,
    request: ExportRequest,
    options: BulkSyncOptions,
  ): Promise<{ statusUrl: string; firstWaitMs?: number }> {
    const { source } = options;
    const plan = planRun(state, request);
    const from = request.since ?? 'the start';
    if (plan.kind === 'resume') {
      const previous = plan.unfinished.statusUrl;
      const probe = await probeExport(http, previous);
      const next = onResumePoll(probe.status);
      if (next === 'continue') {
        options.onNotice?.(
          `the previous run (${previous}) did not finish: the server still has its export (${probe.status}); continuing it`,
        );
        await this.record(source, { kind: 'resume', statusUrl: previous, status: probe.status });
        return { statusUrl: previous, firstWaitMs: probe.status === 202 ? probe.retryAfterMs : undefined };
      }
      const reason =
        next === 'kick-off-anew'
          ? `the server no longer has the export (${probe.status}): kicked off anew from ${from}`
          : `the status URL answered ${probe.status}, not the status of an export`;
      await this.record(source, { kind: 'fail', statusUrl: previous, reason });
      if (next === 'fail')
        throw new BulkDataError(`the previous run (${previous}) cannot be resumed: ${reason}`);
      options.onNotice?.(`the previous run (${previous}) did not finish: ${reason}`);
    } else if (plan.superseded)
      options.onNotice?.(
        `the previous run (${plan.superseded.statusUrl}) did not finish and asked for another export: exporting from ${from}`,
      );
    const kickoffUrl = kickOffUrl(request.server, request);
    const statusUrl = await kickOff(http, kickoffUrl);
    await this.record(source, {
      kind: 'start',
      started: { source, kickoffUrl, statusUrl, ...request },
    });
    return { statusUrl };
  }

  private record(source: string, command: RecordBulkSyncCommand['command']) {
    return this.commandBus.execute(new RecordBulkSyncCommand(source, command));
  }
}

/** Runs fn over the items, at most `limit` at once; the first failure stops starting new ones and is thrown. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}
