import { parseReference } from '@fa/fhir';
import type { Queryable } from '@fa/platform';
import { FHIR_STORE_READ_SCHEMA } from '../../projections/fhir-store.projection';
import { versionColumns, VersionRow, VERSIONS_TABLE } from '../fhir-store.reader';
import { currentAt, SqlParameters } from './search-sql';

/** The versions references point at, by literal key or by conditional identifier: used by _include and $everything. */

const S = FHIR_STORE_READ_SCHEMA;

/** Current (or as-of) versions of the given resources; missing and deleted ones are left out. */
export async function versionsByKey(
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
export async function resolveConditional(
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
