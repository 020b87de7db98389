import type { Pool } from 'pg';
import type { Resource } from 'fhir/r4';
import type { ResourceVersionLineage } from '@fa/ingestion';
import { FHIR_STORE_READ_SCHEMA } from '../projections/fhir-store.projection';

export const VERSIONS_TABLE = `${FHIR_STORE_READ_SCHEMA}.resource_versions`;
const TABLE = VERSIONS_TABLE;

export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: number;
  recordedFrom: Date;
  recordedTo: Date | null;
  deleted: boolean;
  resource: Resource | null;
  eventId: string;
  /** "<recorded ms>.<tx>.<gp>": record time, then place in the global log; the order of history and its cursor. */
  cursor: string;
  lineage: ResourceVersionLineage;
}

export type ReadOutcome =
  | { status: 'found'; version: StoredVersion }
  | { status: 'deleted'; version: StoredVersion }
  | { status: 'not-found' }
  | { status: 'not-yet'; firstRecorded: Date };

export interface HistoryCriteria {
  resourceType?: string;
  id?: string;
  /** Only versions recorded at or after this instant (FHIR _since). */
  since?: Date;
  /** Only versions current at some point in [start, end] (FHIR _at). */
  at?: { start: Date; end: Date };
  /** Only versions recorded at or before this instant (so a page link keeps answering the same). */
  until?: Date;
  /** Exclusive keyset cursor: versions older in the log than this. */
  before?: string;
  count: number;
}

export interface HistoryPage {
  versions: StoredVersion[];
  total: number;
  /** Cursor for the next page, when there is one. */
  next?: string;
}

export interface VersionRow {
  resource_type: string;
  id: string;
  version_id: number;
  recorded_from: Date;
  recorded_to: Date | null;
  deleted: boolean;
  resource: Resource | null;
  event_id: string;
  position_tx: string;
  position_gp: string;
  lineage: ResourceVersionLineage;
}

/** The version columns, optionally qualified by a table alias (for joins). */
export function versionColumns(alias?: string): string {
  const a = alias ? `${alias}.` : '';
  return `${a}resource_type, ${a}id, ${a}version_id, ${a}recorded_from, ${a}recorded_to, ${a}deleted, ${a}resource,
  ${a}event_id::text AS event_id, ${a}position_tx, ${a}position_gp, ${a}lineage`;
}
const COLUMNS = versionColumns();

export function toVersion(row: VersionRow): StoredVersion {
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    recordedFrom: row.recorded_from,
    recordedTo: row.recorded_to,
    deleted: row.deleted,
    resource: row.resource && withResourceTypeFirst(row.resource),
    eventId: row.event_id,
    cursor: `${row.recorded_from.getTime()}.${row.position_tx}.${row.position_gp}`,
    lineage: row.lineage,
  };
}

/** jsonb stores keys by length; FHIR JSON reads best with resourceType, id and meta first. */
function withResourceTypeFirst(resource: Resource): Resource {
  const { resourceType, id, meta, ...rest } = resource;
  return { resourceType, id, meta, ...rest } as Resource;
}

export function parseHistoryCursor(cursor: string): [Date, string, string] | undefined {
  const match = /^(\d{1,15})\.(\d{1,19})\.(\d{1,19})$/.exec(cursor);
  return match ? [new Date(Number(match[1])), match[2], match[3]] : undefined;
}

/** Read side of the temporal FHIR store. Every query is explicit, parameterised SQL over the read views. */
export class FhirStoreReader {
  constructor(private readonly pool: Pool) {}

  /** The current version, or with asOf the version current at that instant. */
  async read(resourceType: string, id: string, asOf?: Date): Promise<ReadOutcome> {
    const result = asOf
      ? await this.pool.query<VersionRow>(
          `SELECT ${COLUMNS} FROM ${TABLE}
            WHERE resource_type = $1 AND id = $2 AND recorded_from <= $3 AND (recorded_to IS NULL OR recorded_to > $3)
            ORDER BY version_id DESC LIMIT 1`,
          [resourceType, id, asOf],
        )
      : await this.pool.query<VersionRow>(
          `SELECT ${COLUMNS} FROM ${TABLE} WHERE resource_type = $1 AND id = $2 AND recorded_to IS NULL`,
          [resourceType, id],
        );
    const row = result.rows[0];
    if (row) return { status: row.deleted ? 'deleted' : 'found', version: toVersion(row) };
    if (!asOf) return { status: 'not-found' };
    const first = await this.pool.query<{ first: Date | null }>(
      `SELECT min(recorded_from) AS first FROM ${TABLE} WHERE resource_type = $1 AND id = $2`,
      [resourceType, id],
    );
    const firstRecorded = first.rows[0].first;
    return firstRecorded && firstRecorded > asOf
      ? { status: 'not-yet', firstRecorded }
      : { status: 'not-found' };
  }

  async vread(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    const result = await this.pool.query<VersionRow>(
      `SELECT ${COLUMNS} FROM ${TABLE} WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
      [resourceType, id, versionId],
    );
    return result.rows[0] ? toVersion(result.rows[0]) : undefined;
  }

  async exists(resourceType: string, id: string): Promise<boolean> {
    const result = await this.pool.query(
      `SELECT 1 FROM ${TABLE} WHERE resource_type = $1 AND id = $2 LIMIT 1`,
      [resourceType, id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** Newest first, as FHIR _history orders; keyset paging on the log position. */
  async history(criteria: HistoryCriteria): Promise<HistoryPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (criteria.resourceType) where.push(`resource_type = ${param(criteria.resourceType)}`);
    if (criteria.id) where.push(`id = ${param(criteria.id)}`);
    if (criteria.since) where.push(`recorded_from >= ${param(criteria.since)}`);
    if (criteria.until) where.push(`recorded_from <= ${param(criteria.until)}`);
    if (criteria.at) {
      // Current at some point of the period: the range [from, to) is non-empty and overlaps [start, end].
      where.push(`recorded_from <= ${param(criteria.at.end)}`);
      where.push(
        `(recorded_to IS NULL OR (recorded_to > ${param(criteria.at.start)} AND recorded_to > recorded_from))`,
      );
    }
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const countParams = [...params];
    const pageWhere = [...where];
    if (criteria.before) {
      const cursor = parseHistoryCursor(criteria.before);
      if (!cursor) throw new Error(`Bad history cursor ${criteria.before}`);
      pageWhere.push(
        `(recorded_from, position_tx, position_gp) < (${param(cursor[0])}::timestamptz, ${param(cursor[1])}::bigint, ${param(cursor[2])}::bigint)`,
      );
    }
    const rows = await this.pool.query<VersionRow>(
      `SELECT ${COLUMNS} FROM ${TABLE} ${pageWhere.length > 0 ? `WHERE ${pageWhere.join(' AND ')}` : ''}
        ORDER BY recorded_from DESC, position_tx DESC, position_gp DESC LIMIT ${param(criteria.count + 1)}`,
      params,
    );
    const total = await this.pool.query<{ total: string }>(
      `SELECT count(*) AS total FROM ${TABLE} ${filter}`,
      countParams,
    );
    const versions = rows.rows.slice(0, criteria.count).map(toVersion);
    return {
      versions,
      total: Number(total.rows[0].total),
      next:
        rows.rows.length > criteria.count && criteria.count > 0
          ? versions[versions.length - 1].cursor
          : undefined,
    };
  }

  /** Every recorded version of a resource, oldest first; with asOf only those recorded by then. */
  async lineage(resourceType: string, id: string, asOf?: Date, versionId?: number): Promise<StoredVersion[]> {
    const result = await this.pool.query<VersionRow>(
      `SELECT ${COLUMNS} FROM ${TABLE}
        WHERE resource_type = $1 AND id = $2 AND ($3::timestamptz IS NULL OR recorded_from <= $3)
          AND ($4::int IS NULL OR version_id = $4)
        ORDER BY version_id`,
      [resourceType, id, asOf ?? null, versionId ?? null],
    );
    return result.rows.map(toVersion);
  }

  /** Versions per resource type (all versions, including deletes): what type-level _history totals count. */
  async countsByType(): Promise<Record<string, number>> {
    const result = await this.pool.query<{ resource_type: string; n: string }>(
      `SELECT resource_type, count(*) AS n FROM ${TABLE} GROUP BY resource_type ORDER BY resource_type`,
    );
    return Object.fromEntries(result.rows.map((r) => [r.resource_type, Number(r.n)]));
  }

  /** Current (not deleted) resources per type whose lineage names this source. */
  async currentCountsBySource(source: string): Promise<Record<string, number>> {
    const result = await this.pool.query<{ resource_type: string; n: string }>(
      `SELECT resource_type, count(*) AS n FROM ${TABLE}
        WHERE recorded_to IS NULL AND NOT deleted AND lineage->>'source' = $1
        GROUP BY resource_type ORDER BY resource_type`,
      [source],
    );
    return Object.fromEntries(result.rows.map((r) => [r.resource_type, Number(r.n)]));
  }

  /** MD5 over every row in a fixed order: equal digests mean equal read-model content (used to verify rebuilds). */
  async contentDigest(): Promise<{ rows: number; digest: string }> {
    const result = await this.pool.query<{ rows: string; digest: string }>(
      `SELECT count(*) AS rows,
              coalesce(md5(string_agg(md5(v::text), '' ORDER BY resource_type, id, version_id)), md5('')) AS digest
         FROM ${TABLE} AS v`,
    );
    return { rows: Number(result.rows[0].rows), digest: result.rows[0].digest };
  }
}
