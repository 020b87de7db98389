import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { PG_POOL } from '@fa/platform';
import { BULK_DATA_READ_SCHEMA } from '../../projections/export-jobs.projection';
import { ExportJobRow, ExportJobsQuery } from './export-jobs.query';

@QueryHandler(ExportJobsQuery)
export class ExportJobsHandler implements IQueryHandler<ExportJobsQuery, ExportJobRow[]> {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async execute({ criteria }: ExportJobsQuery): Promise<ExportJobRow[]> {
    const { rows } = await this.pool.query<{
      job_id: string;
      client_id: string;
      status: ExportJobRow['status'];
      requested_at: Date;
      recorded_from: Date;
      expires_after_ms: string;
    }>(
      `SELECT job_id, client_id, status, requested_at, recorded_from, expires_after_ms
         FROM ${BULK_DATA_READ_SCHEMA}.export_jobs
        WHERE recorded_to IS NULL AND status = ANY($1::text[]) AND ($2::text IS NULL OR client_id = $2)
        ORDER BY requested_at, job_id`,
      [criteria.statuses, criteria.clientId ?? null],
    );
    return rows.map((r) => ({
      jobId: r.job_id,
      clientId: r.client_id,
      status: r.status,
      requestedAt: r.requested_at,
      since: r.recorded_from,
      expiresAfterMs: Number(r.expires_after_ms),
    }));
  }
}
