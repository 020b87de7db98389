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

/**
 * The findings for analysts, as the materialized views are: `revenue_cycle.duplicate_claim_findings(as_of)` is
 * every finding in the state it had at as_of (now when null), `revenue_cycle.findings` every state with its
 * record-time range. A function over the read schema's view, resolved when called: a rebuild's swap leaves it be.
 */
const FUNCTION_SQL = `
CREATE OR REPLACE FUNCTION ${REVENUE_CYCLE_READ_SCHEMA}.duplicate_claim_findings(as_of timestamptz DEFAULT NULL)
RETURNS TABLE (finding_id text, kind text, rule text, claim_id text, duplicate_of text, golden_patient_id text,
  source_patient_ids text[], matched_fields jsonb, service_date date, status text, detected_at timestamptz,
  decided_by jsonb, note text, recorded_from timestamptz, recorded_to timestamptz)
LANGUAGE sql STABLE AS $fn$
  SELECT f.finding_id, f.kind, f.rule, f.claim_id, f.duplicate_of, f.golden_patient_id, f.source_patient_ids,
         f.matched_fields, f.service_date, f.status, f.detected_at, f.decided_by, f.note, f.recorded_from,
         f.recorded_to
    FROM ${REVENUE_CYCLE_READ_SCHEMA}.findings f
   WHERE CASE WHEN as_of IS NULL THEN f.recorded_to IS NULL
              ELSE f.recorded_from <= as_of AND (f.recorded_to IS NULL OR f.recorded_to > as_of) END
   ORDER BY f.service_date, f.finding_id
$fn$`;

export class DuplicateFindingsProjection implements ReadModelProjection {
  readonly kind = 'read-model';
  readonly name = DUPLICATE_FINDINGS_PROJECTION;
  readonly version = 1;
  readonly readSchema = REVENUE_CYCLE_READ_SCHEMA;
  readonly tables = ['findings'] as const;
  readonly streamPrefixes = [FINDING_STREAM_PREFIX];

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${REVENUE_CYCLE_READ_SCHEMA}`);
    // The read schema's findings view may not exist yet (the first generation is swapped in after setup).
    await client.query('SET check_function_bodies = off');
    try {
      await client.query(FUNCTION_SQL);
    } finally {
      await client.query('RESET check_function_bodies');
    }
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
