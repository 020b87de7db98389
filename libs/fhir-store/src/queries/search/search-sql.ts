import type { DateValue, NumberValue, SearchFilter, SearchParameterDefinition, SortKey } from '@fa/fhir';
import { FHIR_STORE_READ_SCHEMA } from '../../projections/fhir-store.projection';

/** Collects bind parameters: every value reaches PostgreSQL as $n, never inside the SQL text. */
export class SqlParameters {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const S = FHIR_STORE_READ_SCHEMA;

/** Versions current at `asOf` (or now): the record-time range [recorded_from, recorded_to) holds the instant. */
export function currentAt(alias: string, asOf: Date | undefined, p: SqlParameters): string {
  if (!asOf) return `${alias}.recorded_to IS NULL`;
  const at = p.add(asOf);
  return `${alias}.recorded_from <= ${at} AND (${alias}.recorded_to IS NULL OR ${alias}.recorded_to > ${at})`;
}

function indexTable(definition: SearchParameterDefinition): string {
  switch (definition.type) {
    case 'token':
    case 'uri':
      return `${S}.search_token`;
    case 'string':
      return `${S}.search_string`;
    case 'date':
      return `${S}.search_date`;
    case 'number':
    case 'quantity':
      return `${S}.search_number`;
    case 'reference':
      return `${S}.search_reference`;
    case 'composite':
      return `${S}.search_composite`;
  }
}

/** Column names of an index row (alias s); a composite's part i has them prefixed (c0_code, c1_value, ...). */
type Columns = (name: string) => string;
const plainColumns: Columns = (name) => `s.${name}`;
const partColumns =
  (i: number): Columns =>
  (name) =>
    `s.c${i}_${REFERENCE_IN_PART[name] ?? name}`;
/** A reference component's target is kept in its part's system (type) and code (id) columns. */
const REFERENCE_IN_PART: Record<string, string> = { target_type: 'system', target_id: 'code', raw: 'exact' };

/** Index rows of this version (alias v) for a parameter that satisfy `condition` exist. */
function hasIndexRow(table: string, param: string, condition: string, p: SqlParameters): string {
  return `EXISTS (SELECT 1 FROM ${table} s WHERE s.vkey = v.position_gp AND s.param = ${p.add(param)} AND (${condition}))`;
}

/**
 * Matching versions through the value index, for selective filters: the planner can start from the index rows.
 * Correlated EXISTS is used for negations, which must look at each candidate version.
 */
function inIndex(
  table: string,
  resourceType: string,
  param: string,
  condition: string,
  p: SqlParameters,
): string {
  return `v.position_gp IN (SELECT s.vkey FROM ${table} s WHERE s.resource_type = ${p.add(resourceType)} AND s.param = ${p.add(param)} AND (${condition}))`;
}

export function filterSql(filter: SearchFilter, resourceType: string, p: SqlParameters): string {
  switch (filter.kind) {
    case 'id':
      return `${filter.not ? 'NOT ' : ''}v.id = ANY(${p.add(filter.values)}::text[])`;
    case 'lastUpdated':
      // Parenthesized: the filters are ANDed, and a bare "a OR b" would escape the AND (found by the fuzz suite).
      return `(${anyOf(
        filter.values.map((value) => dateCondition('v.recorded_from', 'v.recorded_from', value, p)),
      )})`;
    case 'missing': {
      const exists = hasIndexRow(indexTable(filter.definition), filter.definition.code, 'true', p);
      return filter.missing ? `NOT ${exists}` : exists;
    }
    case 'token':
      return filter.not
        ? `NOT ${hasIndexRow(`${S}.search_token`, filter.indexParam, valueCondition(filter, plainColumns, p), p)}`
        : inIndex(
            `${S}.search_token`,
            resourceType,
            filter.indexParam,
            valueCondition(filter, plainColumns, p),
            p,
          );
    case 'uri':
    case 'date':
    case 'number':
    case 'reference':
      return inIndex(
        indexTable(filter.definition),
        resourceType,
        filter.definition.code,
        valueCondition(filter, plainColumns, p),
        p,
      );
    case 'string':
      return inIndex(
        `${S}.search_string`,
        resourceType,
        filter.indexParam,
        valueCondition(filter, plainColumns, p),
        p,
      );
    case 'composite': {
      const condition = anyOf(
        filter.values.map((parts) =>
          parts.map((part, i) => `(${valueCondition(part, partColumns(i), p)})`).join(' AND '),
        ),
      );
      return inIndex(`${S}.search_composite`, resourceType, filter.definition.code, condition, p);
    }
    case 'referenceSet':
      return inIndex(
        `${S}.search_reference`,
        resourceType,
        filter.param,
        `(s.target_type, s.target_id) IN (SELECT * FROM unnest(${p.add(filter.targets.map((t) => t.type))}::text[], ${p.add(filter.targets.map((t) => t.id))}::text[]))`,
        p,
      );
    case 'chain':
    case 'has':
      throw new Error(`${filter.parameter}: a ${filter.kind} must be resolved before its SQL is built`);
  }
}

/** The condition one value filter puts on an index row (token, uri, string, date, number, reference). */
function valueCondition(filter: SearchFilter, col: Columns, p: SqlParameters): string {
  switch (filter.kind) {
    case 'token':
      return anyOf(
        filter.values.map((value) => {
          const parts: string[] = [];
          if (value.code !== undefined) parts.push(`${col('code')} = ${p.add(value.code)}`);
          if (value.system === null) parts.push(`${col('system')} IS NULL`);
          else if (value.system !== undefined) parts.push(`${col('system')} = ${p.add(value.system)}`);
          return parts.length > 0 ? parts.join(' AND ') : 'true';
        }),
      );
    case 'uri':
      return `${col('code')} = ANY(${p.add(filter.values)}::text[])`;
    case 'string':
      return anyOf(
        filter.values.map((value) =>
          filter.match === 'exact'
            ? `${col('exact')} = ${p.add(value)}`
            : `${col('normalized')} LIKE ${p.add(filter.match === 'contains' ? `%${escapeLike(value)}%` : `${escapeLike(value)}%`)}`,
        ),
      );
    case 'date':
      return anyOf(filter.values.map((value) => dateCondition(col('low'), col('high'), value, p)));
    case 'number':
      return anyOf(filter.values.map((value) => numberCondition(value, col, p)));
    case 'reference':
      return anyOf(
        filter.values.map((value) => {
          if (value.raw !== undefined) return `${col('raw')} = ${p.add(value.raw)}`;
          const id = `${col('target_id')} = ${p.add(value.id)}`;
          return value.type ? `${id} AND ${col('target_type')} = ${p.add(value.type)}` : id;
        }),
      );
    default:
      throw new Error(`${filter.parameter}: ${filter.kind} is not a value filter`);
  }
}

function anyOf(conditions: string[]): string {
  return conditions.length === 1 ? conditions[0] : conditions.map((c) => `(${c})`).join(' OR ');
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

const DAY_MS = 86_400_000;

/** FHIR date comparison between a stored range [low, high] and the searched range [start, end]. */
function dateCondition(low: string, high: string, value: DateValue, p: SqlParameters): string {
  const start = () => p.add(value.start);
  const end = () => p.add(value.end);
  switch (value.prefix) {
    case 'eq':
      return `${low} >= ${start()} AND ${high} <= ${end()}`;
    case 'ne':
      return `NOT (${low} >= ${start()} AND ${high} <= ${end()})`;
    case 'lt':
      return `${low} < ${start()}`;
    case 'gt':
      return `${high} > ${end()}`;
    case 'le':
      return `${low} <= ${end()}`;
    case 'ge':
      return `${high} >= ${start()}`;
    case 'sa':
      return `${low} > ${end()}`;
    case 'eb':
      return `${high} < ${start()}`;
    case 'ap': {
      // Approximately: within 10% of the distance between the value and now, and never less than a day.
      const margin = Math.max(DAY_MS, Math.abs(Date.now() - value.start.getTime()) * 0.1);
      const from = new Date(value.start.getTime() - margin);
      const to = new Date(value.end.getTime() + margin);
      return `${low} <= ${p.add(to)} AND ${high} >= ${p.add(from)}`;
    }
  }
}

/** Values and ranges are exact decimal text compared as numeric, as the index stores what was written. */
function numberCondition(value: NumberValue, col: Columns, p: SqlParameters): string {
  const v = col('value');
  const n = (text: string) => `${p.add(text)}::numeric`;
  let condition: string;
  switch (value.prefix) {
    case 'eq':
      condition = `${v} >= ${n(value.low)} AND ${v} < ${n(value.high)}`;
      break;
    case 'ne':
      condition = `NOT (${v} >= ${n(value.low)} AND ${v} < ${n(value.high)})`;
      break;
    case 'lt':
    case 'eb':
      condition = `${v} < ${n(value.value)}`;
      break;
    case 'gt':
    case 'sa':
      condition = `${v} > ${n(value.value)}`;
      break;
    case 'le':
      condition = `${v} <= ${n(value.value)}`;
      break;
    case 'ge':
      condition = `${v} >= ${n(value.value)}`;
      break;
    case 'ap': {
      const x = n(value.value);
      condition = `${v} BETWEEN ${x} - abs(${x}) * 0.1 AND ${x} + abs(${x}) * 0.1`;
      break;
    }
  }
  if (value.system !== undefined) condition += ` AND ${col('system')} = ${p.add(value.system)}`;
  if (value.code !== undefined) condition += ` AND ${col('code')} = ${p.add(value.code)}`;
  return condition;
}

/** ORDER BY for _sort: a parameter sorts by its smallest value (largest when descending); missing values last. */
export function orderBySql(sort: SortKey[], p: SqlParameters): string {
  const keys = sort.map((key) => {
    const direction = key.descending ? 'DESC' : 'ASC';
    if (key.column === '_id') return `v.id ${direction}`;
    if (key.column === '_lastUpdated') return `v.recorded_from ${direction}`;
    const definition = key.definition!;
    const aggregate = key.descending ? 'max' : 'min';
    const column =
      definition.type === 'date'
        ? key.descending
          ? 's.high'
          : 's.low'
        : definition.type === 'string'
          ? 's.normalized'
          : definition.type === 'number' || definition.type === 'quantity'
            ? 's.value'
            : definition.type === 'reference'
              ? 's.target_id'
              : 's.code';
    return `(SELECT ${aggregate}(${column}) FROM ${indexTable(definition)} s
              WHERE s.vkey = v.position_gp AND s.param = ${p.add(definition.code)}) ${direction} NULLS LAST`;
  });
  keys.push('v.id ASC');
  return keys.join(', ');
}
