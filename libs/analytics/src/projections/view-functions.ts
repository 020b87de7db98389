import type { CompiledView } from '../domain/compile-view';
import { goldenPatientColumn, sqlType } from '../domain/materialized-view';

/** The read schema of analytics-views, where the SQL functions of the materialized views are published too. */
export const ANALYTICS_READ_SCHEMA = 'analytics';

/**
 * Golden membership as a relation with record-time ranges: (source_patient_id, golden_id, recorded_from,
 * recorded_to), one row per link of a source patient to a golden patient (Patient Identity's links read model,
 * wired by the composition root). Views whose patient key carries the golden-patient tag join it.
 */
export interface MembershipRelation {
  relation: string;
}

/**
 * The statements that (re)publish a materialized view: `analytics.<name>(as_of)`, the rows current at as_of (now
 * when null), and `analytics.<name>_history()`, every row with its record-time range, so
 * `WHERE recorded_to IS NULL` is now and `WHERE recorded_from <= T AND (recorded_to IS NULL OR recorded_to > T)`
 * is as of T. A view with a golden patient column joins the membership over both ranges: its rows are cut where
 * the patient's golden patient changed (ranges are the intersection), so both give the golden patient as the
 * store knew it then. Functions, not views: their bodies are resolved when called, so the generation swaps of
 * analytics-views and of the membership read model never meet a dependent object.
 */
export function viewFunctionsSql(
  name: string,
  view: CompiledView,
  membership: MembershipRelation | undefined,
): string[] {
  const A = ANALYTICS_READ_SCHEMA;
  const golden = goldenPatientColumn(view);
  const out = ['resource_id text'];
  const select = ['r.resource_id'];
  for (const c of view.columns) {
    const type = sqlType(c);
    out.push(`"${c.name}" ${type}`);
    select.push(c.collection ? `r.row->'${c.name}'` : `(r.row->>'${c.name}')::${type}`);
    if (golden?.patientColumn === c.name) {
      out.push(`"${golden.goldenColumn}" text`);
      select.push('m.golden_id');
    }
  }
  const returns = `RETURNS TABLE (${out.join(', ')}, recorded_from timestamptz, recorded_to timestamptz)`;
  const rowRange = 'tstzrange(r.recorded_from, r.recorded_to)';
  const ofRow = golden && `m.source_patient_id = r.row->>'${golden.patientColumn}'`;
  const rel = membership?.relation;
  const linkRange = 'tstzrange(m.recorded_from, m.recorded_to)';
  /** The row's patient's links, each with the part of the row's range it covers, where `where` holds. */
  const links = (where: string) =>
    `SELECT m.golden_id, ${rowRange} * ${linkRange} AS seg FROM ${rel} m WHERE ${ofRow} AND ${where}`;
  const noMembership = `CROSS JOIN LATERAL (SELECT NULL::text AS golden_id, ${rowRange} AS seg) m`;
  const asOfJoin =
    golden === undefined || rel === undefined
      ? noMembership
      : `LEFT JOIN LATERAL (${links(`CASE WHEN as_of IS NULL THEN m.recorded_to IS NULL
             ELSE m.recorded_from <= as_of AND (m.recorded_to IS NULL OR m.recorded_to > as_of) END`)}
           ORDER BY m.recorded_from DESC LIMIT 1) m ON true`;
  // Every link overlapping the row, and the parts of the row's range no link covers (no golden patient then).
  const historyJoin =
    golden === undefined || rel === undefined
      ? noMembership
      : `CROSS JOIN LATERAL (${links(`${rowRange} && ${linkRange}`)}
           UNION ALL
           SELECT NULL, gap FROM unnest(tstzmultirange(${rowRange}) - (
             SELECT coalesce(range_agg(${linkRange}), '{}'::tstzmultirange) FROM ${rel} m WHERE ${ofRow})) AS gap) m`;
  // A row whose patient had no golden patient at as_of keeps its own range.
  const range = `lower(coalesce(m.seg, ${rowRange})), upper(coalesce(m.seg, ${rowRange}))`;
  return [
    `DROP FUNCTION IF EXISTS ${A}.${name}(timestamptz)`,
    `DROP FUNCTION IF EXISTS ${A}.${name}_history()`,
    `CREATE FUNCTION ${A}.${name}(as_of timestamptz DEFAULT NULL) ${returns}
  LANGUAGE sql STABLE AS $fn$
    SELECT ${select.join(', ')}, ${range}
      FROM ${A}.view_rows r
      ${asOfJoin}
     WHERE r.view_name = '${name}'
       AND CASE WHEN as_of IS NULL THEN r.recorded_to IS NULL
                ELSE r.recorded_from <= as_of AND (r.recorded_to IS NULL OR r.recorded_to > as_of) END
     ORDER BY r.resource_id, r.row_number
  $fn$`,
    `CREATE FUNCTION ${A}.${name}_history() ${returns}
  LANGUAGE sql STABLE AS $fn$
    SELECT ${select.join(', ')}, lower(m.seg), upper(m.seg)
      FROM ${A}.view_rows r
      ${historyJoin}
     WHERE r.view_name = '${name}' AND NOT isempty(m.seg)
     ORDER BY r.resource_id, r.row_number, lower(m.seg)
  $fn$`,
  ];
}

/**
 * A view with a golden patient column is asked for one person's rows (a patient's claims): an index on its patient
 * key within the view's rows, made again at each registration (the tagged column may have changed).
 */
export function patientIndexSql(schema: string, name: string, view: CompiledView): string[] {
  const golden = goldenPatientColumn(view);
  const index = `view_rows_patient_${name}`.slice(0, 63);
  return [
    `DROP INDEX IF EXISTS ${schema}.${index}`,
    ...(golden
      ? [
          `CREATE INDEX ${index} ON ${schema}.view_rows ((row->>'${golden.patientColumn}'), recorded_from)
            WHERE view_name = '${name}'`,
        ]
      : []),
  ];
}
