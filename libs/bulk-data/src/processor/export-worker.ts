import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { Pool, PoolClient } from 'pg';
import { EVENT_STORE, type EventStore, ProjectionRunner } from '@fa/event-store';
import { ExportVersionsQuery, FHIR_STORE_PROJECTION } from '@fa/fhir-store';
import { createLogger, PG_POOL } from '@fa/platform';
import { BULK_DATA_SETTINGS, type BulkDataSettings } from '../bulk-data.settings';
import { ChangeExportJobCommand } from '../commands/change-export-job/change-export-job.command';
import {
  ExportJobRejection,
  exportUnits,
  snapshotOf,
  type ExportJobState,
  type UnitCheckpoint,
} from '../domain/export-job';
import { filterSetsOf } from '../domain/type-filter';
import type { ExportProgressedData, ExportRequestedData, ExportUnit } from '../events/export-events';
import { writeBlocks } from './export-blocks';
import { ExportJobQuery } from '../queries/export-job/export-job.query';
import { ExportJobsQuery } from '../queries/export-jobs/export-jobs.query';
import { exportLine, partPrefix } from './export-lines';
import { PartWriter } from './part-writer';

const POLL_MS = 200;
const SWEEP_EVERY_MS = 10_000;
const CONCURRENT_JOBS = 2;
const ATTEMPTS = 3;
/** pg advisory lock class of export jobs (the second key is the job id's hash). */
const JOB_LOCK = 7431031;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs export jobs (ROLES=export): takes each running job under a session advisory lock (one worker per job,
 * released if its process dies), waits until the read model holds everything recorded by the job's instant,
 * then writes each unit from its last checkpoint, checkpointing (fsync, then ExportProgressed) after every page.
 * A killed worker's job is picked up again from its last checkpoint. Also deletes expired and cancelled jobs'
 * files.
 */
@Injectable()
export class ExportWorker implements OnApplicationShutdown {
  private readonly log = createLogger('export');
  private timer?: NodeJS.Timeout;
  private readonly running = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, number>();
  private stopping = false;
  private lastSweep = 0;

  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly runner: ProjectionRunner,
    @Inject(BULK_DATA_SETTINGS) private readonly settings: BulkDataSettings,
  ) {}

  start(): void {
    if (this.timer) return;
    this.stopping = false;
    const tick = () => {
      this.poll()
        .catch((error: Error) => this.log.warn({ err: error.message }, 'export poll failed'))
        .finally(() => {
          if (!this.stopping) this.timer = setTimeout(tick, POLL_MS);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.running.values()]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private async poll(): Promise<void> {
    if (Date.now() - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = Date.now();
      await this.sweep();
    }
    if (this.running.size >= CONCURRENT_JOBS) return;
    const jobs = await this.queries.execute(new ExportJobsQuery({ statuses: ['running'] }));
    for (const job of jobs) {
      if (this.running.size >= CONCURRENT_JOBS || this.stopping) break;
      if (this.running.has(job.jobId)) continue;
      const client = await this.pool.connect();
      let locked = false;
      try {
        const { rows } = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked',
          [JOB_LOCK, job.jobId],
        );
        locked = rows[0].locked;
      } finally {
        if (!locked) client.release();
      }
      if (!locked) continue;
      const run = this.runLocked(job.jobId, client).finally(() => this.running.delete(job.jobId));
      this.running.set(job.jobId, run);
    }
  }

  private async runLocked(jobId: string, client: PoolClient): Promise<void> {
    try {
      await this.run(jobId);
      this.failures.delete(jobId);
    } catch (error) {
      const attempts = (this.failures.get(jobId) ?? 0) + 1;
      this.failures.set(jobId, attempts);
      const message = (error as Error).message;
      this.log.warn({ jobId, attempts, err: message }, 'export attempt failed');
      if (attempts >= ATTEMPTS)
        await this.change(jobId, { kind: 'fail', reason: message.slice(0, 500) }).catch(() => undefined);
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1, hashtext($2))', [JOB_LOCK, jobId])
        .catch(() => undefined);
      client.release();
    }
  }

  private async run(jobId: string): Promise<void> {
    const state = await this.queries.execute(new ExportJobQuery(jobId));
    if (state.status !== 'running') return;
    const request = state.request!;
    await this.waitForSnapshot(request);
    const started = Date.now();
    let written = 0;
    for (const unit of exportUnits(request)) {
      const checkpoint = state.checkpoints[unit.key];
      if (checkpoint?.done) continue;
      const result = await this.runUnit(jobId, request, unit, checkpoint);
      if (result === 'stopped') return;
      written += result;
    }
    await this.change(jobId, { kind: 'complete', at: new Date() });
    this.log.info({ jobId, lines: written, ms: Date.now() - started }, 'export completed');
  }

  /** Writes one unit from its checkpoint; the lines written, or 'stopped' when the job was cancelled or the worker stops. */
  private async runUnit(
    jobId: string,
    request: ExportRequestedData,
    unit: ExportUnit,
    checkpoint: UnitCheckpoint | undefined,
  ): Promise<number | 'stopped'> {
    const dir = path.join(this.settings.dir, jobId);
    if (unit.kind === 'blocks')
      return writeBlocks(
        {
          dir,
          maxFileBytes: this.settings.maxFileBytes,
          pageSize: this.settings.pageSize,
          page: (criteria) => this.queries.execute(new ExportVersionsQuery(criteria)),
          checkpoint: (progress) => this.progress(jobId, { unit: unit.key, ...progress }),
          stopping: () => this.stopping,
        },
        request,
        unit,
        checkpoint,
      );
    const writer = await PartWriter.resume(
      dir,
      partPrefix(unit),
      this.settings.maxFileBytes,
      checkpoint?.parts ?? [],
    );
    const asOf = snapshotOf(request);
    const filterSets =
      unit.kind === 'deleted'
        ? undefined
        : filterSetsOf(unit.type, request.typeFilters[unit.type], request.constraints[unit.type]);
    let lastId = checkpoint?.lastId;
    let written = 0;
    try {
      for (;;) {
        if (this.stopping) return 'stopped';
        const rows = await this.queries.execute(
          new ExportVersionsQuery({
            resourceType: unit.type,
            asOf,
            since: request.since ? new Date(request.since) : undefined,
            filterSets,
            patients: request.level === 'system' ? undefined : (request.patients ?? 'any'),
            deleted: unit.kind === 'deleted',
            afterId: lastId,
            limit: this.settings.pageSize,
            withLineage: unit.kind === 'provenance',
          }),
        );
        for (const row of rows) await writer.add(exportLine(unit, request, row));
        written += rows.length;
        lastId = rows.at(-1)?.id ?? lastId;
        const done = rows.length < this.settings.pageSize;
        const parts = await writer.sync();
        if (!(await this.progress(jobId, { unit: unit.key, parts, lastId, done }))) return 'stopped';
        if (done) return written;
      }
    } finally {
      await writer.close();
    }
  }

  /**
   * A current export reads at its kick-off instant: first every transaction open then must end (an event it
   * appends may carry an earlier record time), then the FHIR store must have applied the log up to its head.
   */
  private async waitForSnapshot(request: ExportRequestedData): Promise<void> {
    if (request.horizon) {
      for (;;) {
        const { rows } = await this.pool.query<{ passed: boolean }>(
          'SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS passed',
          [request.horizon],
        );
        if (rows[0].passed || this.stopping) break;
        await sleep(20);
      }
    }
    const head = await this.store.headPosition();
    while (!this.stopping) {
      const at = await this.runner.checkpoint(FHIR_STORE_PROJECTION);
      if (this.store.comparePositions(at, head) >= 0) return;
      await sleep(50);
    }
  }

  /** Appends a checkpoint; false when the job is no longer running (cancelled meanwhile). */
  private async progress(jobId: string, progress: ExportProgressedData): Promise<boolean> {
    try {
      await this.change(jobId, { kind: 'progress', progress });
      return true;
    } catch (error) {
      if (error instanceof ExportJobRejection && error.reason === 'not-running') return false;
      throw error;
    }
  }

  private change(
    jobId: string,
    command: ConstructorParameters<typeof ChangeExportJobCommand>[1],
  ): Promise<ExportJobState> {
    return this.commands.execute(new ChangeExportJobCommand(jobId, command));
  }

  /** Removes the files of cancelled and failed jobs, and of completed ones past their expiry. */
  private async sweep(): Promise<void> {
    const jobs = await this.queries.execute(
      new ExportJobsQuery({ statuses: ['completed', 'failed', 'cancelled'] }),
    );
    const now = Date.now();
    for (const job of jobs) {
      if (job.status === 'completed' && job.since.getTime() + job.expiresAfterMs > now) continue;
      await fs.rm(path.join(this.settings.dir, job.jobId), { recursive: true, force: true });
    }
  }
}
