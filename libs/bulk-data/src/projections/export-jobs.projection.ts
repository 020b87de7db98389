import type { PoolClient } from 'pg';
import type { ReadModelProjection, RecordedEvent } from '@fa/event-store';
import {
  asExportEvent,
  EXPORT_CANCELLED,
  EXPORT_COMPLETED,
  EXPORT_FAILED,
  EXPORT_REQUESTED,
  EXPORT_STREAM_PREFIX,
} from '../events/export-events';

export const EXPORT_JOBS_PROJECTION = 'bulk-data-jobs';
export const BULK_DATA_READ_SCHEMA = 'bulk_data';

/**
 * Export jobs with record-time ranges [recorded_from, recorded_to): one row per status of a job (running,
 * completed, failed, cancelled), so the jobs as of T are the rows whose range holds T. The worker finds the
 * running jobs here; the kick-off counts a client's running jobs; the sweeper finds expired ones.
 */
const SETUP_SQL = (schema: string) => `
CREATE TABLE ${schema}.export_jobs (
  event_id uuid PRIMARY KEY,
  job_id text NOT NULL,
  client_id text NOT NULL,
  status text NOT NULL,
  requested_at timestamptz NOT NULL,
  expires_after_ms bigint NOT NULL,
  recorded_from timestamptz NOT NULL,
  recorded_to timestamptz
);
CREATE UNIQUE INDEX export_jobs_current ON ${schema}.export_jobs (job_id) WHERE recorded_to IS NULL;
CREATE INDEX export_jobs_by_status ON ${schema}.export_jobs (status, client_id) WHERE recorded_to IS NULL;
`;

const STATUS_OF: Record<string, string> = {
  [EXPORT_COMPLETED]: 'completed',
  [EXPORT_FAILED]: 'failed',
  [EXPORT_CANCELLED]: 'cancelled',
};

export class ExportJobsProjection implements ReadModelProjection {
  readonly kind = 'read-model';
  readonly name = EXPORT_JOBS_PROJECTION;
  readonly version = 1;
  readonly readSchema = BULK_DATA_READ_SCHEMA;
  readonly tables = ['export_jobs'] as const;
  readonly streamPrefixes = [EXPORT_STREAM_PREFIX];

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const event = asExportEvent(recorded);
      if (!event) continue;
      const jobId = recorded.streamId.slice(EXPORT_STREAM_PREFIX.length);
      if (event.type === EXPORT_REQUESTED) {
        await client.query(
          `INSERT INTO ${schema}.export_jobs (event_id, job_id, client_id, status, requested_at, expires_after_ms,
             recorded_from) VALUES ($1, $2, $3, 'running', $4, $5, $4)`,
          [recorded.id, jobId, event.data.clientId, recorded.recordedAt, event.data.expiresAfterMs],
        );
        continue;
      }
      const status = STATUS_OF[event.type];
      if (!status) continue;
      const { rows } = await client.query<{ event_id: string }>(
        `UPDATE ${schema}.export_jobs SET recorded_to = $2 WHERE job_id = $1 AND recorded_to IS NULL
         RETURNING event_id`,
        [jobId, recorded.recordedAt],
      );
      if (!rows[0]) continue;
      await client.query(
        `INSERT INTO ${schema}.export_jobs (event_id, job_id, client_id, status, requested_at, expires_after_ms,
           recorded_from)
         SELECT $1, job_id, client_id, $3, requested_at, expires_after_ms, $4 FROM ${schema}.export_jobs
          WHERE event_id = $2`,
        [recorded.id, rows[0].event_id, status, recorded.recordedAt],
      );
    }
  }
}
