import type { Pool } from 'pg';
import type { LinkAtInstant } from '../domain/clinical-record';
import { CLINICAL_READ_SCHEMA } from '../projections/fact-links.projection';

/** The clinical-facts read model: links as of an instant (now when none is given). */
export class FactLinksReader {
  constructor(private readonly pool: Pool) {}

  async linksAmong(keys: readonly string[], asOf?: Date): Promise<LinkAtInstant[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.pool.query<{
      a_key: string;
      b_key: string;
      rule_id: string;
      recorded_from: Date;
    }>(
      `SELECT a_key, b_key, rule_id, recorded_from FROM ${CLINICAL_READ_SCHEMA}.fact_links
        WHERE a_key = ANY($1) AND b_key = ANY($1)
          AND CASE WHEN $2::timestamptz IS NULL THEN recorded_to IS NULL
                   ELSE recorded_from <= $2 AND (recorded_to IS NULL OR recorded_to > $2) END
        ORDER BY recorded_from, link_id`,
      [keys, asOf ?? null],
    );
    return rows.map((r) => ({
      aKey: r.a_key,
      bKey: r.b_key,
      ruleId: r.rule_id,
      recordedFrom: r.recorded_from,
    }));
  }

  /** Whether the pair is linked now (a reviewer's split needs it to be). */
  async currentLink(linkId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM ${CLINICAL_READ_SCHEMA}.fact_links WHERE link_id = $1 AND recorded_to IS NULL`,
      [linkId],
    );
    return (rowCount ?? 0) > 0;
  }
}
