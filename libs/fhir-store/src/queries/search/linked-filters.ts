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
    const inner = await resolve(db, filter.sourceType, filter.filter, asOf, limit);
    const p = new SqlParameters();
    const rows = await db.query<{ target_id: string }>(
      `SELECT r.target_id FROM ${S}.search_reference r JOIN ${VERSIONS_TABLE} v ON v.position_gp = r.vkey
        WHERE r.resource_type = ${p.add(filter.sourceType)} AND r.param = ${p.add(filter.reference.code)}
          AND r.target_type = ${p.add(resourceType)} AND r.target_id IS NOT NULL
          AND NOT v.deleted AND ${currentAt('v', asOf, p)}
          AND (${filterSql(inner, filter.sourceType, p)})
        LIMIT ${p.add(limit + 1)}`,
      p.values,
    );
    if (rows.rows.length > limit) throw new SearchTooCostlyError(filter.parameter, limit);
    return {
      kind: 'id',
      parameter: filter.parameter,
      values: [...new Set(rows.rows.map((row) => row.target_id))],
      not: false,
    };
  }
  return filter;
}
