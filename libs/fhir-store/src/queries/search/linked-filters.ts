import { SearchFilter, SearchTooCostlyError } from '@fa/fhir';
import type { Queryable } from '@fa/platform';
import { FHIR_STORE_READ_SCHEMA } from '../../projections/fhir-store.projection';
import { VERSIONS_TABLE } from '../fhir-store.reader';
import { currentAt, filterSql, SqlParameters } from './search-sql';

const S = FHIR_STORE_READ_SCHEMA;

/**
 * Chains and `_has` become plain filters on the searched type, innermost first: a chain into the references of
 * the target resources that match (`referenceSet`), a `_has` into the ids its matching sources point at. Both
 * sides are read as of the same instant (each side's versions whose record-time range holds it), so a chained
 * search as of T joins what both resources were at T. Each lookup reads at most `limit` rows, else the search
 * is cancelled with SearchTooCostlyError before it runs.
 */
export async function resolveLinkedFilters(
  db: Queryable,
  resourceType: string,
  filters: SearchFilter[],
  asOf: Date | undefined,
  limit: number,
): Promise<SearchFilter[]> {
  const out: SearchFilter[] = [];
  for (const filter of filters) out.push(await resolve(db, resourceType, filter, asOf, limit));
  return out;
}

async function resolve(
  db: Queryable,
  resourceType: string,
  filter: SearchFilter,
  asOf: Date | undefined,
  limit: number,
): Promise<SearchFilter> {
  if (filter.kind === 'chain') {
    const targets: { type: string; id: string }[] = [];
    for (const target of filter.targets) {
      const inner = await resolve(db, target.resourceType, target.filter, asOf, limit);
      const p = new SqlParameters();
      const rows = await db.query<{ id: string }>(
        `SELECT v.id FROM ${VERSIONS_TABLE} v
          WHERE v.resource_type = ${p.add(target.resourceType)} AND NOT v.deleted AND ${currentAt('v', asOf, p)}
            AND (${filterSql(inner, target.resourceType, p)})
          LIMIT ${p.add(limit + 1 - targets.length)}`,
        p.values,
      );
      targets.push(...rows.rows.map((row) => ({ type: target.resourceType, id: row.id })));
      if (targets.length > limit) throw new SearchTooCostlyError(filter.parameter, limit);
    }
    return { kind: 'referenceSet', parameter: filter.parameter, param: filter.definition.code, targets };
  }
  if (filter.kind === 'has') {
    // Two steps, each on its own index: the matching source versions (as a plain search), then their references.
    const inner = await resolve(db, filter.sourceType, filter.filter, asOf, limit);
    const p = new SqlParameters();
    const sources = await db.query<{ vkey: string }>(
      `SELECT v.position_gp AS vkey FROM ${VERSIONS_TABLE} v
        WHERE v.resource_type = ${p.add(filter.sourceType)} AND NOT v.deleted AND ${currentAt('v', asOf, p)}
          AND (${filterSql(inner, filter.sourceType, p)})
        LIMIT ${p.add(limit + 1)}`,
      p.values,
    );
    if (sources.rows.length > limit) throw new SearchTooCostlyError(filter.parameter, limit);
    const targets = await db.query<{ target_id: string }>(
      `SELECT DISTINCT r.target_id FROM ${S}.search_reference r
        WHERE r.vkey = ANY($1::bigint[]) AND r.param = $2 AND r.target_type = $3 AND r.target_id IS NOT NULL`,
      [sources.rows.map((row) => row.vkey), filter.reference.code, resourceType],
    );
    return {
      kind: 'id',
      parameter: filter.parameter,
      values: targets.rows.map((row) => row.target_id),
      not: false,
    };
  }
  return filter;
}
