import type { PoolClient } from 'pg';
import type { Projection, RecordedEvent } from '@fa/event-store';
import {
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  GoldenPatientCreatedData,
  GoldenPatientsMergedData,
  IDENTITY_EVENT_TYPES,
  LINK_REVIEW_REQUESTED,
  LINK_REVIEW_RESOLVED,
  LinkReviewRequestedData,
  LinkReviewResolvedData,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
  PatientLinkedData,
  PatientUnlinkedData,
} from '../domain/identity-events';

export const IDENTITY_LINKS_PROJECTION = 'patient-identity';
export const IDENTITY_READ_SCHEMA = 'patient_identity';

/**
 * Links between source patients and golden patients with record-time ranges [recorded_from, recorded_to), like
 * resource versions: the links as of T are those whose range holds T. A source patient has at most one open link.
 */
const SETUP_SQL = (schema: string) => `
CREATE TABLE ${schema}.links (
  event_id uuid PRIMARY KEY,
  source_patient_id text NOT NULL,
  golden_id text NOT NULL,
  source text NOT NULL,
  match_result text NOT NULL,
  manual boolean NOT NULL,
  rule text NOT NULL,
  explanation jsonb,
  decided_by jsonb NOT NULL,
  recorded_from timestamptz NOT NULL,
  recorded_to timestamptz,
  unlinked_by jsonb,
  unlink_reason text
);
CREATE UNIQUE INDEX links_current_by_source ON ${schema}.links (source_patient_id) WHERE recorded_to IS NULL;
CREATE INDEX links_by_golden ON ${schema}.links (golden_id, recorded_from);
CREATE INDEX links_by_source ON ${schema}.links (source_patient_id, recorded_from);
CREATE TABLE ${schema}.goldens (
  golden_id text PRIMARY KEY,
  first_source_patient_id text NOT NULL,
  created_at timestamptz NOT NULL,
  merged_into text,
  merged_at timestamptz
);
CREATE TABLE ${schema}.reviews (
  event_id uuid PRIMARY KEY,
  golden_id text NOT NULL,
  source_patient_id text NOT NULL,
  requested_at timestamptz NOT NULL,
  explanation jsonb NOT NULL,
  alternatives jsonb NOT NULL,
  resolved_at timestamptz,
  resolution text,
  decided_by jsonb
);
CREATE INDEX reviews_open ON ${schema}.reviews (requested_at) WHERE resolved_at IS NULL;
CREATE TABLE ${schema}.decisions (
  event_id uuid PRIMARY KEY,
  golden_id text NOT NULL,
  source_patient_id text,
  type text NOT NULL,
  data jsonb NOT NULL,
  recorded_at timestamptz NOT NULL,
  position_tx bigint NOT NULL,
  position_gp bigint NOT NULL
);
CREATE INDEX decisions_by_golden ON ${schema}.decisions (golden_id, position_tx, position_gp);
CREATE INDEX decisions_by_source ON ${schema}.decisions (source_patient_id, position_tx, position_gp);
`;

/** Read model of identity decisions: links with ranges, golden patients, the review queue and link history. */
export class IdentityLinksProjection implements Projection {
  readonly name = IDENTITY_LINKS_PROJECTION;
  readonly version = 1;
  readonly readSchema = IDENTITY_READ_SCHEMA;
  readonly tables = ['links', 'goldens', 'reviews', 'decisions'] as const;

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    const decisions = events.filter((event) => IDENTITY_EVENT_TYPES.has(event.type));
    if (decisions.length === 0) return;
    await client.query(
      `INSERT INTO ${schema}.decisions (event_id, golden_id, source_patient_id, type, data, recorded_at, position_tx, position_gp)
       SELECT r.e, r.g, r.s, r.t, r.d, r.a, r.x, r.p
         FROM json_to_recordset($1::json) AS r(e uuid, g text, s text, t text, d jsonb, a timestamptz, x bigint, p bigint)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        JSON.stringify(
          decisions.map((event) => {
            const data = event.data as { goldenId?: string; intoGoldenId?: string; sourcePatientId?: string };
            const [tx, gp] = event.position.split(':');
            return {
              e: event.id,
              g: data.goldenId ?? data.intoGoldenId,
              s: data.sourcePatientId ?? null,
              t: event.type,
              d: event.data,
              a: event.recordedAt,
              x: tx,
              p: gp,
            };
          }),
        ),
      ],
    );
    for (const event of decisions) await this.applyOne(client, schema, event);
  }

  private async applyOne(client: PoolClient, schema: string, event: RecordedEvent): Promise<void> {
    switch (event.type) {
      case GOLDEN_PATIENT_CREATED: {
        const data = event.data as GoldenPatientCreatedData;
        await client.query(
          `INSERT INTO ${schema}.goldens (golden_id, first_source_patient_id, created_at) VALUES ($1, $2, $3)
           ON CONFLICT (golden_id) DO NOTHING`,
          [data.goldenId, data.firstSourcePatientId, event.recordedAt],
        );
        return;
      }
      case PATIENT_LINKED: {
        const data = event.data as PatientLinkedData;
        // Defensive: a source patient belongs to one golden patient at a time.
        await client.query(
          `UPDATE ${schema}.links SET recorded_to = $2 WHERE source_patient_id = $1 AND recorded_to IS NULL`,
          [data.sourcePatientId, event.recordedAt],
        );
        await client.query(
          `INSERT INTO ${schema}.links (event_id, source_patient_id, golden_id, source, match_result, manual, rule,
             explanation, decided_by, recorded_from)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_id) DO NOTHING`,
          [
            event.id,
            data.sourcePatientId,
            data.goldenId,
            data.source,
            data.matchResult,
            data.manual,
            data.rule,
            data.explanation ? JSON.stringify(data.explanation) : null,
            JSON.stringify(data.decidedBy),
            event.recordedAt,
          ],
        );
        return;
      }
      case PATIENT_UNLINKED: {
        const data = event.data as PatientUnlinkedData;
        await client.query(
          `UPDATE ${schema}.links SET recorded_to = $3, unlinked_by = $4, unlink_reason = $5
            WHERE source_patient_id = $1 AND golden_id = $2 AND recorded_to IS NULL`,
          [
            data.sourcePatientId,
            data.goldenId,
            event.recordedAt,
            JSON.stringify(data.decidedBy),
            data.reason,
          ],
        );
        return;
      }
      case GOLDEN_PATIENTS_MERGED: {
        const data = event.data as GoldenPatientsMergedData;
        await client.query(
          `UPDATE ${schema}.goldens SET merged_into = $2, merged_at = $3 WHERE golden_id = $1`,
          [data.fromGoldenId, data.intoGoldenId, event.recordedAt],
        );
        return;
      }
      case LINK_REVIEW_REQUESTED: {
        const data = event.data as LinkReviewRequestedData;
        await client.query(
          `INSERT INTO ${schema}.reviews (event_id, golden_id, source_patient_id, requested_at, explanation, alternatives)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
          [
            event.id,
            data.goldenId,
            data.sourcePatientId,
            event.recordedAt,
            JSON.stringify(data.explanation),
            JSON.stringify(data.alternatives),
          ],
        );
        return;
      }
      case LINK_REVIEW_RESOLVED: {
        const data = event.data as LinkReviewResolvedData;
        await client.query(
          `UPDATE ${schema}.reviews SET resolved_at = $2, resolution = $3, decided_by = $4
            WHERE source_patient_id = $1 AND resolved_at IS NULL`,
          [data.sourcePatientId, event.recordedAt, data.resolution, JSON.stringify(data.decidedBy)],
        );
        return;
      }
    }
  }
}
