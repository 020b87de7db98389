import type { PoolClient } from 'pg';
import type { ReadModelProjection, RecordedEvent } from '@fa/event-store';
import {
  asClinicalEvent,
  CLINICAL_FACTS_LINKED,
  CLINICAL_STREAM_PREFIX,
  refKey,
} from '../events/clinical-events';

export const FACT_LINKS_PROJECTION = 'clinical-facts';
export const CLINICAL_READ_SCHEMA = 'clinical_facts';

/**
 * Read model of the clinical decisions: one row per period a link held, [recorded_from, recorded_to) in record
 * time, with the rule (and reason) that linked it and the reason it ended. "Which sources said this fact, and
 * since when" as of any instant is a range query on it.
 */
const SETUP_SQL = (schema: string) => `
CREATE TABLE ${schema}.fact_links (
  link_id text NOT NULL,
  golden_id text NOT NULL,
  kind text NOT NULL,
  a_key text NOT NULL,
  a_source text NOT NULL,
  b_key text NOT NULL,
  b_source text NOT NULL,
  rule_id text NOT NULL,
  rule_reason text NOT NULL,
  time_delta_ms bigint NOT NULL,
  decided_by jsonb NOT NULL,
  linked_event_id uuid NOT NULL,
  recorded_from timestamptz NOT NULL,
  recorded_to timestamptz,
  unlink_reason text,
  unlinked_by jsonb
);
CREATE UNIQUE INDEX fact_links_event ON ${schema}.fact_links (linked_event_id);
CREATE INDEX fact_links_current ON ${schema}.fact_links (link_id) WHERE recorded_to IS NULL;
CREATE INDEX fact_links_by_a ON ${schema}.fact_links (a_key, recorded_from);
CREATE INDEX fact_links_by_b ON ${schema}.fact_links (b_key, recorded_from);
`;

export class FactLinksProjection implements ReadModelProjection {
  readonly kind = 'read-model';
  readonly name = FACT_LINKS_PROJECTION;
  readonly version = 1;
  readonly readSchema = CLINICAL_READ_SCHEMA;
  readonly tables = ['fact_links'] as const;
  readonly streamPrefixes = [CLINICAL_STREAM_PREFIX];

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const event = asClinicalEvent(recorded);
      if (!event) continue;
      const { linkId, facts, decidedBy } = event.data;
      // Whatever the event, the link's open period (if any) ends here: a repeated Linked starts a new one.
      await client.query(
        `UPDATE ${schema}.fact_links SET recorded_to = $2, unlink_reason = $3, unlinked_by = $4
          WHERE link_id = $1 AND recorded_to IS NULL`,
        [
          linkId,
          recorded.recordedAt,
          event.type === CLINICAL_FACTS_LINKED ? 'relinked' : event.data.reason,
          JSON.stringify(decidedBy),
        ],
      );
      if (event.type !== CLINICAL_FACTS_LINKED) continue;
      const { goldenId, kind, rule, timeDeltaMs } = event.data;
      await client.query(
        `INSERT INTO ${schema}.fact_links (link_id, golden_id, kind, a_key, a_source, b_key, b_source, rule_id,
           rule_reason, time_delta_ms, decided_by, linked_event_id, recorded_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (linked_event_id) DO NOTHING`,
        [
          linkId,
          goldenId,
          kind,
          refKey(facts[0]),
          facts[0].source,
          refKey(facts[1]),
          facts[1].source,
          rule.id,
          rule.reason,
          timeDeltaMs,
          JSON.stringify(decidedBy),
          recorded.id,
          recorded.recordedAt,
        ],
      );
    }
  }
}
