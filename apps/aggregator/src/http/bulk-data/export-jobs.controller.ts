import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Controller, Delete, Get, HttpStatus, Inject, Param, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  BULK_DATA_SETTINGS,
  type BulkDataSettings,
  ChangeExportJobCommand,
  ERROR_FILE,
  errorOutcomes,
  ExportJobQuery,
  ExportJobRejection,
  type ExportJobState,
  exportManifest,
  exportProgress,
} from '@fa/bulk-data';
import { FhirError } from '../fhir-error';
import { Access, principalOf } from '../security/access-policy';
import { LOCAL_PRINCIPAL } from '../security/auth-settings';
import { serverOrigin } from '../fhir-json';

/** Seconds a client is told to wait between polls of a running export. */
const RETRY_AFTER_SECONDS = 1;
/** A poll this much earlier than Retry-After allowed is still accepted (clocks, network). */
const POLL_GRACE_MS = 250;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FILE = /^[A-Za-z]+(-[A-Za-z]+)*-\d+\.ndjson$|^errors\.ndjson$/;

/**
 * Bulk Data status and files (STU2): GET the status URL (202 with X-Progress and Retry-After while running, 429
 * when polled sooner than told, 200 with the manifest once complete), DELETE it to cancel (202, then 404), GET
 * each file of the manifest (gzip when the client accepts it, byte ranges for resumed downloads). A job and its
 * files are visible only to the client that asked for it: to any other, 404.
 */
@ApiExcludeController()
@Controller('bulk-data/jobs')
export class ExportJobsController {
  private readonly lastPoll = new Map<string, number>();

  constructor(
    private readonly queryBus: QueryBus,
    private readonly commandBus: CommandBus,
    @Inject(BULK_DATA_SETTINGS) private readonly settings: BulkDataSettings,
  ) {}

  @Get(':jobId')
  @Access({ resource: '*', permission: 'r', interaction: 'operation:export-status' })
  async status(@Param('jobId') jobId: string, @Req() request: Request, @Res() response: Response) {
    const job = await this.ownJob(jobId, request);
    if (job.status === 'failed')
      throw new FhirError(HttpStatus.INTERNAL_SERVER_ERROR, 'exception', `The export failed: ${job.failure}`);
    if (job.status === 'running') {
      const now = Date.now();
      const last = this.lastPoll.get(jobId);
      response.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      if (last !== undefined && now - last < RETRY_AFTER_SECONDS * 1000 - POLL_GRACE_MS)
        throw new FhirError(
          HttpStatus.TOO_MANY_REQUESTS,
          'throttled',
          `Polled ${now - last} ms after the last poll: wait Retry-After (${RETRY_AFTER_SECONDS} s) between polls`,
        );
      this.lastPoll.set(jobId, now);
      const progress = exportProgress(job);
      response.setHeader(
        'X-Progress',
        `${progress.done}/${progress.total} parts done, ${progress.resources} resources written`,
      );
      response.status(202).end();
      return;
    }
    this.lastPoll.delete(jobId);
    const expires = expiresAt(job);
    if (expires.getTime() <= Date.now()) throw FhirError.notFound(`Export ${jobId} has expired`);
    const base = `${serverOrigin(request)}/bulk-data/jobs/${jobId}/files`;
    response.setHeader('Expires', expires.toUTCString());
    response
      .status(200)
      .type('application/json')
      .send(JSON.stringify(exportManifest(job, (file) => `${base}/${file}`)));
  }

  @Delete(':jobId')
  @Access({ resource: '*', permission: 'r', interaction: 'operation:export-cancel' })
  async cancel(@Param('jobId') jobId: string, @Req() request: Request, @Res() response: Response) {
    await this.ownJob(jobId, request);
    try {
      await this.commandBus.execute(
        new ChangeExportJobCommand(jobId, {
          kind: 'cancel',
          by: (principalOf(request) ?? LOCAL_PRINCIPAL).clientId,
        }),
      );
    } catch (error) {
      if (error instanceof ExportJobRejection) throw FhirError.notFound(`No export ${jobId}`);
      throw error;
    }
    await fs.rm(path.join(this.settings.dir, jobId), { recursive: true, force: true });
    this.lastPoll.delete(jobId);
    response.status(202).end();
  }

  @Get(':jobId/files/:file')
  @Access({ resource: '*', permission: 'r', interaction: 'operation:export-file' })
  async file(
    @Param('jobId') jobId: string,
    @Param('file') file: string,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    const job = await this.ownJob(jobId, request);
    if (!FILE.test(file) || job.status !== 'completed' || expiresAt(job).getTime() <= Date.now())
      throw FhirError.notFound(`No file ${file.slice(0, 64)} in export ${jobId}`);
    response.type('application/fhir+ndjson');
    if (file === ERROR_FILE) {
      const lines = errorOutcomes(job).map((o) => `${JSON.stringify(o)}\n`);
      if (lines.length === 0) throw FhirError.notFound(`Export ${jobId} has no errors`);
      response.status(200).send(lines.join(''));
      return;
    }
    const listed = Object.values(job.checkpoints).some((c) =>
      c.parts.some((p) => p.file === file && p.count > 0),
    );
    if (!listed) throw FhirError.notFound(`No file ${file} in export ${jobId}`);
    const location = path.join(this.settings.dir, jobId, file);
    if (!request.headers.range && /\bgzip\b/.test(request.get('accept-encoding') ?? '')) {
      response.setHeader('Content-Encoding', 'gzip');
      response.setHeader('Vary', 'Accept-Encoding');
      response.status(200);
      await pipeline(createReadStream(location), createGzip({ level: 1 }), response);
      return;
    }
    await new Promise<void>((resolve, reject) =>
      response.sendFile(
        location,
        { acceptRanges: true, dotfiles: 'deny', headers: { 'Content-Type': 'application/fhir+ndjson' } },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  }

  /** The job, when it exists and is the caller's; 404 otherwise (another client's job is not revealed). */
  private async ownJob(jobId: string, request: Request): Promise<ExportJobState> {
    if (!JOB_ID.test(jobId)) throw FhirError.notFound(`No export ${jobId.slice(0, 64)}`);
    const job = await this.queryBus.execute(new ExportJobQuery(jobId));
    const clientId = (principalOf(request) ?? LOCAL_PRINCIPAL).clientId;
    if (job.status === 'none' || job.status === 'cancelled' || job.request!.clientId !== clientId)
      throw FhirError.notFound(`No export ${jobId}`);
    return job;
  }
}

function expiresAt(job: ExportJobState): Date {
  return new Date(new Date(job.completedAt ?? Date.now()).getTime() + job.request!.expiresAfterMs);
}
