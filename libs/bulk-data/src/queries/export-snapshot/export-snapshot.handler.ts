import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { PG_POOL } from '@fa/platform';
import { ExportSnapshotQuery } from './export-snapshot.query';

@QueryHandler(ExportSnapshotQuery)
export class ExportSnapshotHandler implements IQueryHandler<ExportSnapshotQuery> {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async execute(): Promise<{ transactionTime: Date; horizon: string }> {
    const { rows } = await this.pool.query<{ at: Date; horizon: string }>(
      `SELECT date_trunc('milliseconds', clock_timestamp()) - interval '1 millisecond' AS at,
              pg_snapshot_xmax(pg_current_snapshot())::text AS horizon`,
    );
    return { transactionTime: rows[0].at, horizon: rows[0].horizon };
  }
}
