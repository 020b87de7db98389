import type { PoolClient } from 'pg';
import type { Projection, RecordedEvent } from '@fa/event-store';
import {
  RESOURCE_DELETED,
  RESOURCE_VERSION_RECORDED,
  ResourceDeletedData,
  ResourceVersionLineage,
  ResourceVersionRecordedData,
} from '@fa/ingestion';

export const FHIR_STORE_PROJECTION = 'fhir-store';
export const FHIR_STORE_READ_SCHEMA = 'fhir_store';

/**
 * Every recorded version with its record-time range [recorded_from, recorded_to). recorded_to is NULL for the
 * current version; a late version (older than the current one by the source's clock) gets an empty range: it is
 * history and lineage, never current. _history is ordered by recorded_from and then by the event's place in the
 * global log (position_tx, position_gp): concurrent batches commit out of clock order, so the log alone is not.
 */
const SETUP_SQL = (schema: string) => `
CREATE TABLE ${schema}.resource_versions (
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  recorded_from timestamptz NOT NULL,
  recorded_to timestamptz,
  deleted boolean NOT NULL,
  resource jsonb,
  event_id uuid NOT NULL,
  position_tx bigint NOT NULL,
  position_gp bigint NOT NULL,
  lineage jsonb NOT NULL,
  PRIMARY KEY (resource_type, id, version_id)
);
CREATE UNIQUE INDEX resource_versions_current ON ${schema}.resource_versions (resource_type, id) WHERE recorded_to IS NULL;
CREATE INDEX resource_versions_type_history
  ON ${schema}.resource_versions (resource_type, recorded_from, position_tx, position_gp);
CREATE INDEX resource_versions_system_history ON ${schema}.resource_versions (recorded_from, position_tx, position_gp);
`;

interface VersionRow {
  resourceType: string;
  id: string;
  versionId: number;
  recordedFrom: Date;
  recordedTo: Date | null;
  deleted: boolean;
  resource: unknown;
  eventId: string;
  positionTx: string;
  positionGp: string;
  lineage: ResourceVersionLineage;
  supersedes: boolean;
}

export class FhirStoreProjection implements Projection {
  readonly name = FHIR_STORE_PROJECTION;
  /** 2: history ordered by record time (then log position), as FHIR orders _history. */
  readonly version = 2;
  readonly readSchema = FHIR_STORE_READ_SCHEMA;
  readonly tables = ['resource_versions'] as const;

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    const rows: VersionRow[] = [];
    for (const event of events) {
      if (event.type !== RESOURCE_VERSION_RECORDED && event.type !== RESOURCE_DELETED) continue;
      const data = event.data as ResourceVersionRecordedData | ResourceDeletedData;
      const lineage = event.metadata as ResourceVersionLineage;
      const versionId = event.streamRevision + 1;
      const lastUpdated = event.recordedAt.toISOString();
      const [positionTx, positionGp] = event.position.split(':');
      const deleted = event.type === RESOURCE_DELETED;
      const resource = deleted
        ? null
        : withOurMeta(
            (data as ResourceVersionRecordedData).resource as unknown as Record<string, unknown>,
            versionId,
            lastUpdated,
          );
      rows.push({
        resourceType: data.resourceType,
        id: data.id,
        versionId,
        recordedFrom: event.recordedAt,
        recordedTo: null,
        deleted,
        resource,
        eventId: event.id,
        positionTx,
        positionGp,
        lineage,
        supersedes: lineage.supersedesCurrent !== false,
      });
    }
    if (rows.length === 0) return;

    // Within the batch each superseding version closes the one before it; the first closes the stored current one.
    const lastCurrentByKey = new Map<string, VersionRow>();
    const closeStored = new Map<string, { resourceType: string; id: string; at: Date }>();
    for (const row of rows) {
      const key = `${row.resourceType}/${row.id}`;
      if (!row.supersedes) {
        row.recordedTo = row.recordedFrom;
        continue;
      }
      const previous = lastCurrentByKey.get(key);
      if (previous) previous.recordedTo = row.recordedFrom;
      else closeStored.set(key, { resourceType: row.resourceType, id: row.id, at: row.recordedFrom });
      lastCurrentByKey.set(key, row);
    }
    if (closeStored.size > 0) {
      const closes = [...closeStored.values()];
      await client.query(
        `UPDATE ${schema}.resource_versions AS v SET recorded_to = c.at
           FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS c(resource_type, id, at)
          WHERE v.resource_type = c.resource_type AND v.id = c.id AND v.recorded_to IS NULL`,
        [closes.map((c) => c.resourceType), closes.map((c) => c.id), closes.map((c) => c.at)],
      );
    }
    // One JSON document per batch: PostgreSQL parses it in C, where text[] parameters cost a per-element
    // escaping pass in node-postgres.
    await client.query(
      `INSERT INTO ${schema}.resource_versions
         (resource_type, id, version_id, recorded_from, recorded_to, deleted, resource, event_id, position_tx, position_gp, lineage)
       SELECT r.t, r.i, r.v, r.f, r.u, r.d, r.r, r.e, r.x, r.g, r.l
         FROM json_to_recordset($1::json)
           AS r(t text, i text, v int, f timestamptz, u timestamptz, d boolean, r jsonb, e uuid, x bigint, g bigint, l jsonb)`,
      [
        JSON.stringify(
          rows.map((r) => ({
            t: r.resourceType,
            i: r.id,
            v: r.versionId,
            f: r.recordedFrom,
            u: r.recordedTo,
            d: r.deleted,
            r: r.resource,
            e: r.eventId,
            x: r.positionTx,
            g: r.positionGp,
            l: r.lineage,
          })),
        ),
      ],
    );
  }
}

/** The recorded resource as served: our version id and record time in meta, the source's kept in lineage. */
function withOurMeta(
  resource: Record<string, unknown>,
  versionId: number,
  lastUpdated: string,
): Record<string, unknown> {
  const meta = (resource.meta ?? {}) as Record<string, unknown>;
  return { ...resource, meta: { ...meta, versionId: String(versionId), lastUpdated } };
}
