import type { Pool } from 'pg';
import type { DecidedBy, MatchExplanation } from '../domain/identity-events';
import { disagreeingFirst } from '../domain/review-order';
import { IDENTITY_READ_SCHEMA } from '../projections/identity-links.projection';

const S = IDENTITY_READ_SCHEMA;

export interface PatientLink {
  goldenId: string;
  sourcePatientId: string;
  source: string;
  matchResult: 'MATCH' | 'POSSIBLE_MATCH';
  manual: boolean;
  rule: string;
  explanation: MatchExplanation | null;
  decidedBy: DecidedBy;
  eventId: string;
  recordedFrom: Date;
  recordedTo: Date | null;
  unlinkedBy: DecidedBy | null;
  unlinkReason: string | null;
}

export interface LinkCriteria {
  goldenId?: string;
  sourcePatientId?: string;
  matchResult?: 'MATCH' | 'POSSIBLE_MATCH';
  asOf?: Date;
  limit: number;
  /** Links to skip, in the order (golden patient, source patient): pages of one instant never overlap. */
  offset?: number;
}

/** One page of links and whether more follow it. */
export interface LinkPage {
  links: PatientLink[];
  hasMore: boolean;
}

export interface IdentityDecision {
  eventId: string;
  type: string;
  goldenId: string;
  sourcePatientId: string | null;
  data: Record<string, unknown>;
  recordedAt: Date;
}

export interface GoldenPatientRecord {
  goldenId: string;
  firstSourcePatientId: string;
  createdAt: Date;
  mergedInto: string | null;
  mergedAt: Date | null;
}

export interface OpenReview {
  eventId: string;
  goldenId: string;
  sourcePatientId: string;
  requestedAt: Date;
  explanation: MatchExplanation;
  alternatives: { goldenId: string; probability: number }[];
}

interface LinkRow {
  golden_id: string;
  source_patient_id: string;
  source: string;
  match_result: 'MATCH' | 'POSSIBLE_MATCH';
  manual: boolean;
  rule: string;
  explanation: MatchExplanation | null;
  decided_by: DecidedBy;
  event_id: string;
  recorded_from: Date;
  recorded_to: Date | null;
  unlinked_by: DecidedBy | null;
  unlink_reason: string | null;
}

function toLink(row: LinkRow): PatientLink {
  return {
    goldenId: row.golden_id,
    sourcePatientId: row.source_patient_id,
    source: row.source,
    matchResult: row.match_result,
    manual: row.manual,
    rule: row.rule,
    explanation: row.explanation,
    decidedBy: row.decided_by,
    eventId: row.event_id,
    recordedFrom: row.recorded_from,
    recordedTo: row.recorded_to,
    unlinkedBy: row.unlinked_by,
    unlinkReason: row.unlink_reason,
  };
}

/** Read side of identity: links as of any instant, golden patients, the review queue, decision history. */
export class IdentityReader {
  constructor(private readonly pool: Pool) {}

  async links(criteria: LinkCriteria): Promise<LinkPage> {
    const result = await this.pool.query<LinkRow>(
      `SELECT golden_id, source_patient_id, source, match_result, manual, rule, explanation, decided_by,
              event_id::text AS event_id, recorded_from, recorded_to, unlinked_by, unlink_reason
         FROM ${S}.links
        WHERE ($1::timestamptz IS NULL AND recorded_to IS NULL
               OR $1::timestamptz IS NOT NULL AND recorded_from <= $1 AND (recorded_to IS NULL OR recorded_to > $1))
          AND ($2::text IS NULL OR golden_id = $2)
          AND ($3::text IS NULL OR source_patient_id = $3)
          AND ($4::text IS NULL OR match_result = $4)
        ORDER BY golden_id, source_patient_id
        LIMIT $5 OFFSET $6`,
      [
        criteria.asOf ?? null,
        criteria.goldenId ?? null,
        criteria.sourcePatientId ?? null,
        criteria.matchResult ?? null,
        criteria.limit + 1,
        criteria.offset ?? 0,
      ],
    );
    const links = result.rows.slice(0, criteria.limit).map(toLink);
    return { links, hasMore: result.rows.length > criteria.limit };
  }

  async golden(goldenId: string): Promise<GoldenPatientRecord | undefined> {
    const result = await this.pool.query<{
      golden_id: string;
      first_source_patient_id: string;
      created_at: Date;
      merged_into: string | null;
      merged_at: Date | null;
    }>(
      `SELECT golden_id, first_source_patient_id, created_at, merged_into, merged_at FROM ${S}.goldens WHERE golden_id = $1`,
      [goldenId],
    );
    const row = result.rows[0];
    return row
      ? {
          goldenId: row.golden_id,
          firstSourcePatientId: row.first_source_patient_id,
          createdAt: row.created_at,
          mergedInto: row.merged_into,
          mergedAt: row.merged_at,
        }
      : undefined;
  }

  /**
   * The instants a golden patient's membership changed, oldest first: each decision that linked or unlinked
   * members (one transaction, one cause) or merged it away is one version of the golden Patient. Its creation
   * comes with its first link, in the same decision.
   */
  async membershipChanges(goldenId: string): Promise<Date[]> {
    const result = await this.pool.query<{ at: Date }>(
      `SELECT max(recorded_at) AS at FROM ${S}.decisions
        WHERE (golden_id = $1 AND type IN ('PatientLinked', 'PatientUnlinked'))
           OR (type = 'GoldenPatientsMerged' AND data->>'fromGoldenId' = $1)
        GROUP BY position_tx, coalesce(data->>'causationId', type)
        ORDER BY min(position_tx), min(position_gp)`,
      [goldenId],
    );
    return result.rows.map((row) => row.at);
  }

  /** The golden patients these source patients were linked to at `asOf`. */
  async goldenIdsOfMembers(sourcePatientIds: string[], asOf: Date): Promise<string[]> {
    const result = await this.pool.query<{ golden_id: string }>(
      `SELECT DISTINCT golden_id FROM ${S}.links
        WHERE source_patient_id = ANY($1::text[])
          AND recorded_from <= $2 AND (recorded_to IS NULL OR recorded_to > $2)`,
      [sourcePatientIds, asOf],
    );
    return result.rows.map((row) => row.golden_id);
  }

  /** Golden patients that exist at `asOf` (created, not merged away), by id, one page of them. */
  async goldenIds(criteria: {
    asOf: Date;
    ids?: string[];
    offset: number;
    limit: number;
  }): Promise<{ ids: string[]; hasMore: boolean }> {
    const result = await this.pool.query<{ golden_id: string }>(
      `SELECT golden_id FROM ${S}.goldens
        WHERE created_at <= $1 AND (merged_at IS NULL OR merged_at > $1)
          AND ($2::text[] IS NULL OR golden_id = ANY($2))
        ORDER BY golden_id LIMIT $3 OFFSET $4`,
      [criteria.asOf, criteria.ids ?? null, criteria.limit + 1, criteria.offset],
    );
    const ids = result.rows.map((row) => row.golden_id);
    return { ids: ids.slice(0, criteria.limit), hasMore: ids.length > criteria.limit };
  }

  /** Every identity decision about a golden patient or a source patient, oldest first. */
  async history(criteria: { goldenId?: string; sourcePatientId?: string }): Promise<IdentityDecision[]> {
    const result = await this.pool.query<{
      event_id: string;
      type: string;
      golden_id: string;
      source_patient_id: string | null;
      data: Record<string, unknown>;
      recorded_at: Date;
    }>(
      `SELECT event_id::text AS event_id, type, golden_id, source_patient_id, data, recorded_at FROM ${S}.decisions
        WHERE ($1::text IS NULL OR golden_id = $1 OR data->>'fromGoldenId' = $1)
          AND ($2::text IS NULL OR source_patient_id = $2 OR data->'movedSourcePatientIds' ? $2)
        ORDER BY position_tx, position_gp`,
      [criteria.goldenId ?? null, criteria.sourcePatientId ?? null],
    );
    return result.rows.map((row) => ({
      eventId: row.event_id,
      type: row.type,
      goldenId: row.golden_id,
      sourcePatientId: row.source_patient_id,
      data: row.data,
      recordedAt: row.recorded_at,
    }));
  }

  async openReviews(limit: number): Promise<OpenReview[]> {
    const result = await this.pool.query<{
      event_id: string;
      golden_id: string;
      source_patient_id: string;
      requested_at: Date;
      explanation: MatchExplanation;
      alternatives: { goldenId: string; probability: number }[];
    }>(
      `SELECT event_id::text AS event_id, golden_id, source_patient_id, requested_at, explanation, alternatives
         FROM ${S}.reviews WHERE resolved_at IS NULL ORDER BY requested_at LIMIT $1`,
      [limit],
    );
    return result.rows.map((row) => ({
      eventId: row.event_id,
      goldenId: row.golden_id,
      sourcePatientId: row.source_patient_id,
      requestedAt: row.requested_at,
      explanation: { ...row.explanation, comparisons: disagreeingFirst(row.explanation.comparisons) },
      alternatives: row.alternatives,
    }));
  }
}
