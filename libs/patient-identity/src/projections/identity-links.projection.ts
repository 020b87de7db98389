import type { PoolClient } from 'pg';
import type { ReadModelProjection, RecordedEvent } from '@fa/event-store';
import {
  asIdentityEvent,
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  IDENTITY_STREAM_PREFIX,
  IdentityEvent,
  LINK_REVIEW_REQUESTED,
  LINK_REVIEW_RESOLVED,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from '../domain/identity-events';

/** An identity event of the batch, narrowed by its type, with what the read model keeps of its envelope. */
type Decision = IdentityEvent & Pick<RecordedEvent, 'id' | 'recordedAt' | 'logOrder'>;

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
export class IdentityLinksProjection implements ReadModelProjection {
  readonly kind = 'read-model';
  readonly name = IDENTITY_LINKS_PROJECTION;
  readonly version = 1;
  readonly readSchema = IDENTITY_READ_SCHEMA;
  readonly tables = ['links', 'goldens', 'reviews', 'decisions'] as const;
  readonly streamPrefixes = [IDENTITY_STREAM_PREFIX];

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    const decisions = events.flatMap((event): Decision[] => {
      const identity = asIdentityEvent(event);
      return identity
        ? [{ ...identity, id: event.id, recordedAt: event.recordedAt, logOrder: event.logOrder }]
        : [];
    });
    if (decisions.length === 0) return;
    await client.query(
      `INSERT INTO ${schema}.decisions (event_id, golden_id, source_patient_id, type, data, recorded_at, position_tx, position_gp)
       SELECT r.e, r.g, r.s, r.t, r.d, r.a, r.x, r.p
         FROM json_to_recordset($1::json) AS r(e uuid, g text, s text, t text, d jsonb, a timestamptz, x bigint, p bigint)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        JSON.stringify(
          decisions.map((event) => {
            const [tx, gp] = event.logOrder;
            return {
              e: event.id,
              g: event.type === GOLDEN_PATIENTS_MERGED ? event.data.intoGoldenId : event.data.goldenId,
              s: 'sourcePatientId' in event.data ? event.data.sourcePatientId : null,
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
    const created = decisions.flatMap((event) => (event.type === GOLDEN_PATIENT_CREATED ? [event] : []));
    if (created.length > 0) {
      await client.query(
        `INSERT INTO ${schema}.goldens (golden_id, first_source_patient_id, created_at)
         SELECT r.g, r.s, r.a FROM json_to_recordset($1::json) AS r(g text, s text, a timestamptz)
         ON CONFLICT (golden_id) DO NOTHING`,
        [
          JSON.stringify(
            created.map((event) => ({
              g: event.data.goldenId,
              s: event.data.firstSourcePatientId,
              a: event.recordedAt,
            })),
          ),
        ],
      );
    }
    await this.applyLinks(client, schema, decisions);
    for (const event of decisions) await this.applyOne(client, schema, event);
  }

  /**
   * Links and unlinks of the batch in two statements: changes to rows opened in this batch are made in memory,
   * and each source patient's stored open link is closed at most once, by the first decision that touches it.
   */
  private async applyLinks(client: PoolClient, schema: string, events: Decision[]): Promise<void> {
    interface NewLink {
      e: string;
      s: string;
      g: string;
      src: string;
      r: string;
      m: boolean;
      rule: string;
      x: unknown;
      d: unknown;
      f: Date;
      t: Date | null;
      ub: unknown;
      ur: string | null;
    }
    const inserted: NewLink[] = [];
    const openInBatch = new Map<string, NewLink>();
    const closeStored = new Map<
      string,
      { s: string; g: string | null; t: Date; ub: unknown; ur: string | null }
    >();
    const close = (source: string, golden: string | null, at: Date, by: unknown, reason: string | null) => {
      const open = openInBatch.get(source);
      if (open) {
        if (golden !== null && open.g !== golden) return;
        open.t = at;
        open.ub = by;
        open.ur = reason;
        openInBatch.delete(source);
      } else if (!closeStored.has(source)) {
        closeStored.set(source, { s: source, g: golden, t: at, ub: by, ur: reason });
      }
    };
    for (const event of events) {
      if (event.type === PATIENT_LINKED) {
        const { data } = event;
        // Defensive: a source patient belongs to one golden patient at a time.
        close(data.sourcePatientId, null, event.recordedAt, null, null);
        const link: NewLink = {
          e: event.id,
          s: data.sourcePatientId,
          g: data.goldenId,
          src: data.source,
          r: data.matchResult,
          m: data.manual,
          rule: data.rule,
          x: data.explanation ?? null,
          d: data.decidedBy,
          f: event.recordedAt,
          t: null,
          ub: null,
          ur: null,
        };
        inserted.push(link);
        openInBatch.set(data.sourcePatientId, link);
      } else if (event.type === PATIENT_UNLINKED) {
        const { data } = event;
        close(data.sourcePatientId, data.goldenId, event.recordedAt, data.decidedBy, data.reason);
      }
    }
    if (closeStored.size > 0) {
      await client.query(
        `UPDATE ${schema}.links AS l SET recorded_to = c.t, unlinked_by = c.ub, unlink_reason = c.ur
           FROM json_to_recordset($1::json) AS c(s text, g text, t timestamptz, ub jsonb, ur text)
          WHERE l.source_patient_id = c.s AND l.recorded_to IS NULL AND (c.g IS NULL OR l.golden_id = c.g)`,
        [JSON.stringify([...closeStored.values()])],
      );
    }
    if (inserted.length > 0) {
      await client.query(
        `INSERT INTO ${schema}.links (event_id, source_patient_id, golden_id, source, match_result, manual, rule,
           explanation, decided_by, recorded_from, recorded_to, unlinked_by, unlink_reason)
         SELECT r.e, r.s, r.g, r.src, r.r, r.m, r.rule, r.x, r.d, r.f, r.t, r.ub, r.ur
           FROM json_to_recordset($1::json) AS r(e uuid, s text, g text, src text, r text, m boolean, rule text,
             x jsonb, d jsonb, f timestamptz, t timestamptz, ub jsonb, ur text)
         ON CONFLICT (event_id) DO NOTHING`,
        [JSON.stringify(inserted)],
      );
    }
  }

  private async applyOne(client: PoolClient, schema: string, event: Decision): Promise<void> {
    switch (event.type) {
      case GOLDEN_PATIENTS_MERGED: {
        const { data } = event;
        await client.query(
          `UPDATE ${schema}.goldens SET merged_into = $2, merged_at = $3 WHERE golden_id = $1`,
          [data.fromGoldenId, data.intoGoldenId, event.recordedAt],
        );
        return;
      }
      case LINK_REVIEW_REQUESTED: {
        const { data } = event;
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
        const { data } = event;
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
