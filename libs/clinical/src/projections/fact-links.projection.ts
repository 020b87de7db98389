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

  /**
   * One UPDATE closing the periods open before the batch, then one INSERT of the batch's periods (those the batch
   * itself ended carry their end): the batch folded in memory first, in log order.
   */
  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    const closes = new Map<string, { at: Date; reason: string; by: string }>();
    const periods: Period[] = [];
    const open = new Map<string, Period>();
    for (const recorded of events) {
      const event = asClinicalEvent(recorded);
      if (!event) continue;
      const { linkId, decidedBy } = event.data;
      // Whatever the event, the link's open period (if any) ends here: a repeated Linked starts a new one.
      const end = {
        at: recorded.recordedAt,
        reason: event.type === CLINICAL_FACTS_LINKED ? 'relinked' : event.data.reason,
        by: JSON.stringify(decidedBy),
      };
      const pending = open.get(linkId);
      if (pending) {
        Object.assign(pending, { recordedTo: end.at, unlinkReason: end.reason, unlinkedBy: end.by });
        open.delete(linkId);
      } else if (!closes.has(linkId)) {
        closes.set(linkId, end);
      }
      if (event.type !== CLINICAL_FACTS_LINKED) continue;
      const { goldenId, kind, rule, timeDeltaMs, facts } = event.data;
      const period: Period = {
        linkId,
        goldenId,
        kind,
        aKey: refKey(facts[0]),
        aSource: facts[0].source,
        bKey: refKey(facts[1]),
        bSource: facts[1].source,
        ruleId: rule.id,
        ruleReason: rule.reason,
        timeDeltaMs,
        decidedBy: JSON.stringify(decidedBy),
        eventId: recorded.id,
        recordedFrom: recorded.recordedAt,
        recordedTo: null,
        unlinkReason: null,
        unlinkedBy: null,
      };
      periods.push(period);
      open.set(linkId, period);
    }
    if (closes.size > 0) {
      const list = [...closes];
      await client.query(
        `UPDATE ${schema}.fact_links f SET recorded_to = c.at, unlink_reason = c.reason, unlinked_by = c.by
           FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::jsonb[]) AS c(link_id, at, reason, by)
          WHERE f.link_id = c.link_id AND f.recorded_to IS NULL`,
        [
          list.map(([id]) => id),
          list.map(([, c]) => c.at),
          list.map(([, c]) => c.reason),
          list.map(([, c]) => c.by),
        ],
      );
    }
    if (periods.length === 0) return;
    const column = <K extends keyof Period>(key: K) => periods.map((p) => p[key]);
    await client.query(
      `INSERT INTO ${schema}.fact_links (link_id, golden_id, kind, a_key, a_source, b_key, b_source, rule_id,
         rule_reason, time_delta_ms, decided_by, linked_event_id, recorded_from, recorded_to, unlink_reason, unlinked_by)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::text[], $10::bigint[], $11::jsonb[], $12::uuid[], $13::timestamptz[], $14::timestamptz[],
         $15::text[], $16::jsonb[])
       ON CONFLICT (linked_event_id) DO NOTHING`,
      [
        column('linkId'),
        column('goldenId'),
        column('kind'),
        column('aKey'),
        column('aSource'),
        column('bKey'),
        column('bSource'),
        column('ruleId'),
        column('ruleReason'),
        column('timeDeltaMs'),
        column('decidedBy'),
        column('eventId'),
        column('recordedFrom'),
        column('recordedTo'),
        column('unlinkReason'),
        column('unlinkedBy'),
      ],
    );
  }
}

interface Period {
  linkId: string;
  goldenId: string;
  kind: string;
  aKey: string;
  aSource: string;
  bKey: string;
  bSource: string;
  ruleId: string;
  ruleReason: string;
  timeDeltaMs: number;
  decidedBy: string;
  eventId: string;
  recordedFrom: Date;
  recordedTo: Date | null;
  unlinkReason: string | null;
  unlinkedBy: string | null;
}
