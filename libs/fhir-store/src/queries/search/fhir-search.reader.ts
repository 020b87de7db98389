import type { Pool } from 'pg';
import {
  DEFAULT_INCLUDE_LIMIT,
  DEFAULT_SEARCH_LINK_LIMIT,
  Queryable,
  withStatementTimeout,
} from '@fa/platform';
import { IncludeSpec, r4SearchParameters, SearchParameterRegistry, SearchRequest } from '@fa/fhir';
import { FHIR_STORE_READ_SCHEMA } from '../../projections/fhir-store.projection';
import { StoredVersion, toVersion, versionColumns, VersionRow, VERSIONS_TABLE } from '../fhir-store.reader';
import { resolveLinkedFilters } from './linked-filters';
import { resolveConditional, versionsByKey } from './referenced-versions';
import { currentAt, filterSql, orderBySql, SqlParameters } from './search-sql';

const S = FHIR_STORE_READ_SCHEMA;

export interface SearchResult {
  matches: StoredVersion[];
  included: StoredVersion[];
  /** Number of matches over all pages, when asked for or known without counting. */
  total?: number;
  hasMore: boolean;
  /** Set when _include/_revinclude found more than the include limit: `included` holds the first this many. */
  includedCutAt?: number;
}

/** Search over the temporal store (with _include/_revinclude): every query can be answered as of any instant. */
export class FhirSearchReader {
  constructor(
    private readonly pool: Pool,
    private readonly registry: SearchParameterRegistry = r4SearchParameters(),
    /** Each statement of a search or $everything is cancelled in PostgreSQL after this long (0: no limit). */
    private readonly queryTimeoutMs = 0,
    /** INCLUDE_LIMIT: the most resources _include and _revinclude add to one page. */
    private readonly includeLimit = DEFAULT_INCLUDE_LIMIT,
    /** The most linked rows one chain or _has may touch (SEARCH_LINK_LIMIT). */
    private readonly linkLimit = DEFAULT_SEARCH_LINK_LIMIT,
  ) {}

  /** A search over its time budget fails with SQLSTATE 57014 (see withStatementTimeout). */
  search(request: SearchRequest): Promise<SearchResult> {
    return this.withBudget((db) => this.searchOn(db, request));
  }

  private withBudget<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    return this.queryTimeoutMs > 0 ? withStatementTimeout(this.pool, this.queryTimeoutMs, fn) : fn(this.pool);
  }

  private async searchOn(db: Queryable, request: SearchRequest): Promise<SearchResult> {
    const filters = await resolveLinkedFilters(
      db,
      request.resourceType,
      request.filters,
      request.asOf,
      this.linkLimit,
    );
    const p = new SqlParameters();
    const where = [
      `v.resource_type = ${p.add(request.resourceType)}`,
      'NOT v.deleted',
      currentAt('v', request.asOf, p),
      ...filters.map((filter) => `(${filterSql(filter, request.resourceType, p)})`),
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
    const { included, cut } = await this.included(
      db,
      pageRows,
      request.includes,
      request.revIncludes,
      request.asOf,
    );
    return { matches, included, total, hasMore, ...(cut ? { includedCutAt: this.includeLimit } : {}) };
  }

  /**
   * _include and _revinclude, then the :iterate ones once more over what the first round brought in. Each
   * resource appears once, and never when it is already a match. At most includeLimit resources: past that the
   * rest is cut (`cut`), and no query reads more than the limit could use (a reverse include, whose fan-out has
   * no bound of its own, asks PostgreSQL for at most as many rows as could still be new plus one).
   */
  private async included(
    db: Queryable,
    matches: VersionRow[],
    includes: IncludeSpec[],
    revIncludes: IncludeSpec[],
    asOf: Date | undefined,
  ): Promise<{ included: StoredVersion[]; cut: boolean }> {
    if (matches.length === 0 || (includes.length === 0 && revIncludes.length === 0))
      return { included: [], cut: false };
    const seen = new Set(matches.map((row) => `${row.resource_type}/${row.id}`));
    const included: VersionRow[] = [];
    let cut = false;
    const take = (rows: VersionRow[]) => {
      for (const row of rows) {
        const key = `${row.resource_type}/${row.id}`;
        if (seen.has(key)) continue;
        if (included.length >= this.includeLimit) {
          cut = true;
          return;
        }
        seen.add(key);
        included.push(row);
      }
    };
    const round = async (from: VersionRow[], onlyIterate: boolean) => {
      for (const spec of includes) {
        if (cut) return;
        if (!onlyIterate || spec.iterate) take(await this.forwardInclude(db, from, spec, asOf));
      }
      for (const spec of revIncludes) {
        if (cut) return;
        // Rows already seen come back too: ask for enough that the new ones alone can pass the limit.
        const rows = this.includeLimit - included.length + seen.size + 1;
        if (!onlyIterate || spec.iterate) take(await this.reverseInclude(db, from, spec, asOf, rows));
      }
    };
    await round(matches, false);
    const first = included.slice();
    if (!cut && first.length > 0 && [...includes, ...revIncludes].some((spec) => spec.iterate)) {
      await round(first, true);
    }
    return { included: included.map(toVersion), cut };
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
      ...(await versionsByKey(
        db,
        literal.map((r) => ({ type: r.target_type!, id: r.target_id! })),
        asOf,
      )),
      ...(await resolveConditional(
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
    limit: number,
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
        ORDER BY v.id LIMIT ${p.add(limit)}`,
      p.values,
    );
    return result.rows;
  }
}
