import type { Pool } from 'pg';
import { REVENUE_CYCLE_READ_SCHEMA } from '../projections/duplicate-findings.projection';

const F = REVENUE_CYCLE_READ_SCHEMA;
/** Where the analytics-views projection publishes each materialized view as `analytics.<name>(as_of)`. */
const A = 'analytics';

/** A claim with its lines and the adjudication of each line (EOB or ClaimResponse), as of an instant. */
export interface ClaimWithLines {
  claim: Record<string, unknown>;
  lines: Record<string, unknown>[];
  adjudication: Record<string, unknown>[];
}

export interface CoveragePeriod {
  origin: 'Coverage' | 'ExplanationOfBenefit';
  coverageId: string;
  source: string;
  patientId: string;
  payer: string | null;
  plan: string | null;
  periodStart: string | null;
  periodEnd: string | null;
  status: string | null;
}

export interface ClaimsSummaryRow {
  source: string;
  month: string;
  claims: number;
  billed: number;
  paid: number;
  /** Claims whose adjudication paid nothing on a line it was billed for, or marked a line denied. */
  denied: number;
  denialRate: number;
}

export interface FindingRow {
  eventId: string;
  findingId: string;
  claimId: string;
  duplicateOf: string;
  goldenPatientId: string;
  sourcePatientIds: string[];
  kind: 'exact' | 'suspect';
  rule: string;
  matchedFields: string[];
  serviceDate: string;
  status: 'open' | 'confirmed' | 'dismissed' | 'withdrawn';
  detectedAt: Date;
  decidedBy: Record<string, unknown> | null;
  note: string | null;
  recordedFrom: Date;
}

export interface FindingCriteria {
  /** Golden or source patient ids: findings of any. */
  patientIds?: string[];
  kind?: 'exact' | 'suspect';
  status?: string;
  /** Service date bounds (YYYY-MM-DD), each inclusive. */
  dateFrom?: string;
  dateTo?: string;
  asOf?: Date;
  limit: number;
  offset?: number;
}

/** A view not materialized yet (its registration still being backfilled) reads as empty, not as an error. */
const UNDEFINED_FUNCTION = '42883';

/**
 * Read side of the context: the materialized views (plain SQL on `analytics.<view>(as_of)`, what an analyst
 * types) and the findings read model, each as of an instant.
 */
export class RevenueCycleReader {
  constructor(private readonly pool: Pool) {}

  async claimsOf(patientIds: string[], asOf: Date, from?: Date, to?: Date): Promise<ClaimWithLines[]> {
    const claims = await this.rows(
      `SELECT c.* FROM ${A}.claim($1) c
        WHERE c.patient_id = ANY($2::text[])
          AND ($3::timestamptz IS NULL OR coalesce(c.billable_end, c.billable_start)::timestamptz >= $3)
          AND ($4::timestamptz IS NULL OR c.billable_start::timestamptz < $4)
        ORDER BY c.billable_start, c.claim_id`,
      [asOf, patientIds, from ?? null, to ?? null],
    );
    if (claims.length === 0) return [];
    const ids = claims.map((c) => c.claim_id as string);
    const lines = await this.rows(
      `SELECT * FROM ${A}.claim_line($1) WHERE claim_id = ANY($2::text[]) ORDER BY claim_id, sequence`,
      [asOf, ids],
    );
    const adjudication = [
      ...(await this.rows(
        `SELECT 'ExplanationOfBenefit' AS adjudication_type, * FROM ${A}.eob_adjudication($1)
          WHERE claim_id = ANY($2::text[]) ORDER BY claim_id, adjudication_id, sequence`,
        [asOf, ids],
      )),
      ...(await this.rows(
        `SELECT 'ClaimResponse' AS adjudication_type, * FROM ${A}.claim_response_adjudication($1)
          WHERE claim_id = ANY($2::text[]) ORDER BY claim_id, adjudication_id, sequence`,
        [asOf, ids],
      )),
    ];
    return claims.map((claim) => ({
      claim: numbers(claim),
      lines: lines.filter((l) => l.claim_id === claim.claim_id).map(numbers),
      adjudication: adjudication.filter((a) => a.claim_id === claim.claim_id).map(numbers),
    }));
  }

  /** Coverage periods of the patients holding `date` (all of them without a date), optionally of one payer. */
  async coverage(
    patientIds: string[],
    asOf: Date,
    date?: { start: Date; end: Date },
    payer?: string,
  ): Promise<CoveragePeriod[]> {
    const filter = `patient_id = ANY($2::text[])
        AND ($3::timestamptz IS NULL OR ((period_start IS NULL OR period_start::timestamptz < $4)
                                     AND (period_end IS NULL OR period_end::timestamptz >= $3)))
        AND ($5::text IS NULL OR lower(payer) = lower($5))`;
    const values = [asOf, patientIds, date?.start ?? null, date?.end ?? null, payer ?? null];
    const rows = [
      ...(await this.rows(
        `SELECT 'Coverage' AS origin, coverage_id, source, patient_id, payer, plan, period_start, period_end, status
           FROM ${A}.coverage_period($1) WHERE ${filter}`,
        values,
      )),
      ...(await this.rows(
        `SELECT 'ExplanationOfBenefit' AS origin, eob_id || '#' || contained_id AS coverage_id, source, patient_id,
                payer, plan, period_start, period_end, status
           FROM ${A}.coverage_period_eob($1) WHERE ${filter}`,
        values,
      )),
    ];
    return rows
      .map((r) => ({
        origin: r.origin as CoveragePeriod['origin'],
        coverageId: r.coverage_id as string,
        source: r.source as string,
        patientId: r.patient_id as string,
        payer: r.payer as string | null,
        plan: r.plan as string | null,
        periodStart: r.period_start as string | null,
        periodEnd: r.period_end as string | null,
        status: r.status as string | null,
      }))
      .sort((a, b) => `${a.periodStart}|${a.coverageId}`.localeCompare(`${b.periodStart}|${b.coverageId}`));
  }

  /** Claims per source and month of service start: counts, billed, paid (EOB and ClaimResponse lines), denials. */
  async summary(asOf: Date, from?: Date, to?: Date): Promise<ClaimsSummaryRow[]> {
    const rows = await this.rows(
      `WITH c AS (
         SELECT claim_id, source, to_char(billable_start::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM') AS month, total
           FROM ${A}.claim($1)
          WHERE ($2::timestamptz IS NULL OR billable_start::timestamptz >= $2)
            AND ($3::timestamptz IS NULL OR billable_start::timestamptz < $3)),
       adj AS (
         SELECT claim_id, paid, submitted, denied FROM ${A}.eob_adjudication($1)
         UNION ALL
         SELECT claim_id, paid, submitted, denied FROM ${A}.claim_response_adjudication($1)),
       per_claim AS (
         SELECT claim_id, sum(paid) AS paid,
                bool_or(denied OR (submitted > 0 AND coalesce(paid, 0) = 0)) AS denied
           FROM adj GROUP BY claim_id)
       SELECT c.source, c.month, count(*)::int AS claims, coalesce(sum(c.total), 0)::float8 AS billed,
              coalesce(sum(p.paid), 0)::float8 AS paid, count(*) FILTER (WHERE p.denied)::int AS denied
         FROM c LEFT JOIN per_claim p ON p.claim_id = c.claim_id
        GROUP BY c.source, c.month ORDER BY c.source, c.month`,
      [asOf, from ?? null, to ?? null],
    );
    return rows.map((r) => ({
      source: r.source as string,
      month: r.month as string,
      claims: r.claims as number,
      billed: round(r.billed as number),
      paid: round(r.paid as number),
      denied: r.denied as number,
      denialRate: (r.claims as number) > 0 ? (r.denied as number) / (r.claims as number) : 0,
    }));
  }

  /** A page of the findings matching the criteria, and how many match in all. */
  async findings(criteria: FindingCriteria): Promise<{ findings: FindingRow[]; total: number }> {
    const where = `recorded_from <= $1 AND (recorded_to IS NULL OR recorded_to > $1)
          AND ($2::text[] IS NULL OR golden_patient_id = ANY($2) OR source_patient_ids && $2)
          AND ($3::text IS NULL OR kind = $3)
          AND ($4::text IS NULL OR status = $4)
          AND ($5::date IS NULL OR service_date >= $5)
          AND ($6::date IS NULL OR service_date <= $6)`;
    const values = [
      criteria.asOf ?? new Date(),
      criteria.patientIds ?? null,
      criteria.kind ?? null,
      criteria.status ?? null,
      criteria.dateFrom ?? null,
      criteria.dateTo ?? null,
    ];
    const { rows } =
      criteria.limit > 0
        ? await this.pool.query(
            `SELECT * FROM ${F}.findings WHERE ${where} ORDER BY service_date, finding_id LIMIT $7 OFFSET $8`,
            [...values, criteria.limit, criteria.offset ?? 0],
          )
        : { rows: [] };
    const [{ total }] = (
      await this.pool.query<{ total: number }>(
        `SELECT count(*)::int AS total FROM ${F}.findings WHERE ${where}`,
        values,
      )
    ).rows;
    return { findings: rows.map(findingOf), total };
  }

  async finding(findingId: string, asOf?: Date): Promise<FindingRow | undefined> {
    const { rows } = await this.pool.query(
      `SELECT * FROM ${F}.findings
        WHERE finding_id = $1 AND recorded_from <= $2 AND (recorded_to IS NULL OR recorded_to > $2)`,
      [findingId, asOf ?? new Date()],
    );
    return rows[0] && findingOf(rows[0]);
  }

  private async rows(text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      return (await this.pool.query(text, values)).rows;
    } catch (error) {
      if ((error as { code?: string }).code === UNDEFINED_FUNCTION) return [];
      throw error;
    }
  }
}

function findingOf(r: Record<string, unknown>): FindingRow {
  const date = r.service_date as Date | string;
  return {
    eventId: r.event_id as string,
    findingId: r.finding_id as string,
    claimId: r.claim_id as string,
    duplicateOf: r.duplicate_of as string,
    goldenPatientId: r.golden_patient_id as string,
    sourcePatientIds: r.source_patient_ids as string[],
    kind: r.kind as FindingRow['kind'],
    rule: r.rule as string,
    matchedFields: r.matched_fields as string[],
    serviceDate: date instanceof Date ? isoDay(date) : String(date),
    status: r.status as FindingRow['status'],
    detectedAt: r.detected_at as Date,
    decidedBy: r.decided_by as Record<string, unknown> | null,
    note: r.note as string | null,
    recordedFrom: r.recorded_from as Date,
  };
}

function isoDay(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The views' decimal columns come back from PostgreSQL as numeric text: JSON numbers for callers. */
const DECIMAL_COLUMNS = [
  'total',
  'quantity',
  'unit_price',
  'net',
  'submitted',
  'allowed',
  'paid',
  'patient_responsibility',
];

function numbers(row: Record<string, unknown>): Record<string, unknown> {
  const out = { ...row };
  for (const column of DECIMAL_COLUMNS) {
    if (typeof out[column] === 'string') out[column] = Number(out[column]);
  }
  return out;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
