import type { PoolClient } from 'pg';
import type { ReadModelProjection, RecordedEvent } from '@fa/event-store';
import { DUPLICATE_CLAIM_DETECTED } from '../events/duplicate-claim-detected.event';
import { asRevenueCycleEvent, FINDING_STREAM_PREFIX } from '../events/revenue-cycle-event';

export const DUPLICATE_FINDINGS_PROJECTION = 'revenue-cycle-findings';
export const REVENUE_CYCLE_READ_SCHEMA = 'revenue_cycle';

/**
 * Duplicate-claim findings with record-time ranges [recorded_from, recorded_to): one row per state of a finding
 * (detected, confirmed, dismissed, withdrawn, detected again), so the findings as of T are the rows whose range
 * holds T. Served as FHIR DetectedIssue.
 */
const SETUP_SQL = (schema: string) => `
CREATE TABLE ${schema}.findings (
  event_id uuid PRIMARY KEY,
  finding_id text NOT NULL,
  claim_id text NOT NULL,
  duplicate_of text NOT NULL,
  golden_patient_id text NOT NULL,
  source_patient_ids text[] NOT NULL,
  kind text NOT NULL,
  rule text NOT NULL,
  matched_fields jsonb NOT NULL,
  service_date date NOT NULL,
  status text NOT NULL,
  detected_at timestamptz NOT NULL,
  decided_by jsonb,
  note text,
  recorded_from timestamptz NOT NULL,
  recorded_to timestamptz
);
CREATE UNIQUE INDEX findings_current ON ${schema}.findings (finding_id) WHERE recorded_to IS NULL;
CREATE INDEX findings_by_finding ON ${schema}.findings (finding_id, recorded_from);
CREATE INDEX findings_by_golden ON ${schema}.findings (golden_patient_id, recorded_from);
CREATE INDEX findings_by_date ON ${schema}.findings (service_date);
`;

export class DuplicateFindingsProjection implements ReadModelProjection {
  readonly kind = 'read-model';
  readonly name = DUPLICATE_FINDINGS_PROJECTION;
  readonly version = 1;
  readonly readSchema = REVENUE_CYCLE_READ_SCHEMA;
  readonly tables = ['findings'] as const;
  readonly streamPrefixes = [FINDING_STREAM_PREFIX];

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const event = asRevenueCycleEvent(recorded);
      if (!event) continue;
      const { rows } = await client.query<{ event_id: string }>(
        `UPDATE ${schema}.findings SET recorded_to = $2 WHERE finding_id = $1 AND recorded_to IS NULL
         RETURNING event_id`,
        [event.data.findingId, recorded.recordedAt],
      );
      if (event.type === DUPLICATE_CLAIM_DETECTED) {
        const d = event.data;
        await client.query(
          `INSERT INTO ${schema}.findings (event_id, finding_id, claim_id, duplicate_of, golden_patient_id,
             source_patient_ids, kind, rule, matched_fields, service_date, status, detected_at, recorded_from)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $11)`,
          [
            recorded.id,
            d.findingId,
            d.claim,
            d.duplicateOf,
            d.goldenPatientId,
            d.sourcePatientIds,
            d.kind,
            d.rule,
            JSON.stringify(d.matchedFields),
            d.serviceDate,
            recorded.recordedAt,
          ],
        );
      } else if (rows[0]) {
        // The finding's last state, carried over with the resolution.
        await client.query(
          `INSERT INTO ${schema}.findings (event_id, finding_id, claim_id, duplicate_of, golden_patient_id,
             source_patient_ids, kind, rule, matched_fields, service_date, status, detected_at, decided_by, note,
             recorded_from)
           SELECT $1, finding_id, claim_id, duplicate_of, golden_patient_id, source_patient_ids, kind, rule,
                  matched_fields, service_date, $3, detected_at, $4, $5, $6
             FROM ${schema}.findings WHERE event_id = $2`,
          [
            recorded.id,
            rows[0].event_id,
            event.data.resolution,
            JSON.stringify(event.data.decidedBy),
            event.data.note ?? null,
            recorded.recordedAt,
          ],
        );
      }
    }
  }
}
