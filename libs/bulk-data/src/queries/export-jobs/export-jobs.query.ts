import { Query } from '@nestjs/cqrs';

export interface ExportJobRow {
  jobId: string;
  clientId: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  requestedAt: Date;
  /** When the job reached its status. */
  since: Date;
  expiresAfterMs: number;
}

/** The export jobs now (from the bulk-data-jobs read model), by status and, optionally, client. */
export class ExportJobsQuery extends Query<ExportJobRow[]> {
  constructor(readonly criteria: { statuses: ExportJobRow['status'][]; clientId?: string }) {
    super();
  }
}
