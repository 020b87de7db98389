import { setImmediate } from 'node:timers/promises';
import type { PoolClient } from 'pg';
import type { ReadModelProjection, RecordedEvent } from '@fa/event-store';
import { copyInto, copyLine, copyText } from '@fa/platform';
import {
  extractIndexValues,
  IndexValues,
  r4SearchParameters,
  SearchParameterRegistry,
  sourceSystemUri,
} from '@fa/fhir';
import {
  isResourceEvent,
  RESOURCE_DELETED,
  RESOURCE_VERSION_RECORDED,
  ResourceVersionLineage,
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
-- Bodies stored uncompressed: pglz cost 12 us per version on write and 12% on reads of synthea-79, for 31%
-- less space. The log keeps its compressed copy; this table is rebuilt from it at will.
ALTER TABLE ${schema}.resource_versions ALTER COLUMN resource SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX resource_versions_current ON ${schema}.resource_versions (resource_type, id) WHERE recorded_to IS NULL;
CREATE INDEX resource_versions_type_history
  ON ${schema}.resource_versions (resource_type, recorded_from, position_tx, position_gp);
CREATE INDEX resource_versions_system_history ON ${schema}.resource_versions (recorded_from, position_tx, position_gp);
CREATE UNIQUE INDEX resource_versions_position ON ${schema}.resource_versions (position_gp);
${SEARCH_INDEX_SQL(schema)}
`;

/**
 * The search index: one row per value a version yields for a search parameter, keyed by the version's place in
 * the log (vkey = resource_versions.position_gp). Rows are immutable; a search joins them to the versions whose
 * record-time range holds the instant asked about, so search "as of T" needs no second copy of the ranges.
 * Deleted and late versions yield no rows: neither is ever a search hit.
 */
const SEARCH_INDEX_SQL = (schema: string) => `
CREATE TABLE ${schema}.search_token (
  vkey bigint NOT NULL, resource_type text NOT NULL, param text NOT NULL, system text, code text NOT NULL
);
CREATE TABLE ${schema}.search_string (
  vkey bigint NOT NULL, resource_type text NOT NULL, param text NOT NULL, normalized text NOT NULL, exact text NOT NULL
);
CREATE TABLE ${schema}.search_date (
  vkey bigint NOT NULL, resource_type text NOT NULL, param text NOT NULL, low timestamptz NOT NULL, high timestamptz NOT NULL
);
CREATE TABLE ${schema}.search_number (
  vkey bigint NOT NULL, resource_type text NOT NULL, param text NOT NULL, value numeric NOT NULL, system text, code text
);
CREATE TABLE ${schema}.search_reference (
  vkey bigint NOT NULL, resource_type text NOT NULL, param text NOT NULL,
  target_type text, target_id text, raw text NOT NULL
);
CREATE TABLE ${schema}.search_composite (
  vkey bigint NOT NULL, resource_type text NOT NULL, param text NOT NULL,
  ${COMPOSITE_PART_COLUMNS.map((c) => `${c} ${COMPOSITE_COLUMN_TYPES[c.slice(3)]}`).join(', ')}
);
`;

/**
 * A composite tuple's parts, each in the columns of its component's type (see CompositePart); unused ones are
 * NULL. Tuples rather than a join of component rows of one element: measured in bench/scenarios/search.ts.
 */
export const COMPOSITE_PART_FIELDS = [
  'system',
  'code',
  'value',
  'low',
  'high',
  'normalized',
  'exact',
] as const;
export const MAX_COMPOSITE_PARTS = 3;
const COMPOSITE_COLUMN_TYPES: Record<string, string> = {
  system: 'text',
  code: 'text',
  value: 'numeric',
  low: 'timestamptz',
  high: 'timestamptz',
  normalized: 'text',
  exact: 'text',
};
const COMPOSITE_PART_COLUMNS = Array.from({ length: MAX_COMPOSITE_PARTS }, (_, i) =>
  COMPOSITE_PART_FIELDS.map((field) => `c${i}_${field}`),
).flat();

/** Only searches read these: a rebuild creates them after its bulk load (see Projection.deferredIndexSql). */
const SEARCH_INDEX_INDEXES_SQL = (schema: string) => `
CREATE INDEX search_token_value ON ${schema}.search_token (resource_type, param, code, system);
CREATE INDEX search_token_version ON ${schema}.search_token (vkey, param);
CREATE INDEX search_string_value ON ${schema}.search_string (resource_type, param, normalized text_pattern_ops);
CREATE INDEX search_string_version ON ${schema}.search_string (vkey, param);
CREATE INDEX search_date_value ON ${schema}.search_date (resource_type, param, low);
CREATE INDEX search_date_version ON ${schema}.search_date (vkey, param);
CREATE INDEX search_number_value ON ${schema}.search_number (resource_type, param, value);
CREATE INDEX search_number_version ON ${schema}.search_number (vkey, param);
CREATE INDEX search_reference_target ON ${schema}.search_reference (target_id, target_type, param);
CREATE INDEX search_reference_version ON ${schema}.search_reference (vkey, param);
CREATE INDEX search_composite_value ON ${schema}.search_composite (resource_type, param, c0_code, c0_system);
CREATE INDEX search_composite_version ON ${schema}.search_composite (vkey, param);
`;

export const SEARCH_INDEX_TABLES = [
  'search_token',
  'search_string',
  'search_date',
  'search_number',
  'search_reference',
  'search_composite',
] as const;

/** A version the projection writes to resource_versions (the reader's VersionRow is what it reads back). */
interface VersionToWrite {
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

/** A batch made ready for PostgreSQL: ranges to close, then COPY text for the versions and each index table. */
export interface PreparedVersions {
  closes: { resourceType: string; id: string; at: Date }[];
  versions: string;
  index: Record<IndexTable, string>;
}

export class FhirStoreProjection implements ReadModelProjection<PreparedVersions> {
  readonly kind = 'read-model';
  readonly name = FHIR_STORE_PROJECTION;
  /**
   * 2: history ordered by record time (then log position). 3: search index. 4: decimals as written in bodies and
   * number index rows (read losslessly from the log's jsonb, so a rebuild restores what earlier ones rounded).
   * 5: composite tuples (search_composite), :text rows of tokens and references, :of-type rows of identifiers.
   */
  readonly version = 5;
  readonly readSchema = FHIR_STORE_READ_SCHEMA;
  readonly tables = ['resource_versions', ...SEARCH_INDEX_TABLES] as const;

  constructor(private readonly searchParameters: SearchParameterRegistry = r4SearchParameters()) {}

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
  }

  deferredIndexSql(schema: string): string {
    return SEARCH_INDEX_INDEXES_SQL(schema);
  }

  /** Everything but the database: version rows, their record-time ranges and the search index values. */
  async prepare(events: RecordedEvent[]): Promise<PreparedVersions> {
    const rows: VersionToWrite[] = [];
    for (const event of events) {
      if (!isResourceEvent(event)) continue;
      const { data, metadata: lineage } = event;
      const versionId = event.streamRevision + 1;
      const lastUpdated = event.recordedAt.toISOString();
      const [positionTx, positionGp] = event.logOrder;
      const deleted = event.type === RESOURCE_DELETED;
      const resource =
        event.type === RESOURCE_VERSION_RECORDED
          ? withOurMeta(event.data.resource as unknown as Record<string, unknown>, versionId, lastUpdated)
          : null;
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

    // Within the batch each superseding version closes the one before it; the first closes the stored current one.
    const lastCurrentByKey = new Map<string, VersionToWrite>();
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
    const index = await this.indexLines(rows);
    return {
      closes: [...closeStored.values()],
      versions: copyText(
        rows.map((r) => [
          r.resourceType,
          r.id,
          r.versionId,
          r.recordedFrom,
          r.recordedTo,
          r.deleted,
          r.resource,
          r.eventId,
          r.positionTx,
          r.positionGp,
          r.lineage,
        ]),
      ),
      index: Object.fromEntries(
        SEARCH_INDEX_TABLES.map((table) => [
          table,
          index[table].length === 0 ? '' : index[table].join('\n') + '\n',
        ]),
      ) as Record<IndexTable, string>,
    };
  }

  async apply(
    client: PoolClient,
    schema: string,
    events: RecordedEvent[],
    prepared?: PreparedVersions,
  ): Promise<void> {
    const { closes, versions, index } = prepared ?? (await this.prepare(events));
    // Ranges close before the new current versions arrive: the unique index on current versions needs it.
    if (closes.length > 0) {
      await client.query(
        `UPDATE ${schema}.resource_versions AS v SET recorded_to = c.at
           FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS c(resource_type, id, at)
          WHERE v.resource_type = c.resource_type AND v.id = c.id AND v.recorded_to IS NULL`,
        [closes.map((c) => c.resourceType), closes.map((c) => c.id), closes.map((c) => c.at)],
      );
    }
    // COPY: replaying synthea-79 went from 1,706 to 2,071-2,154 events/s when the index rows moved to it from
    // a json_to_recordset INSERT; the versions' INSERT took 200 ms per 1,000, parsing each body twice.
    await copyInto(client, `${schema}.resource_versions`, VERSION_COLUMNS, versions);
    for (const table of SEARCH_INDEX_TABLES) {
      await copyInto(client, `${schema}.${table}`, INDEX_COLUMNS[table], index[table]);
    }
  }

  /**
   * Index rows, as COPY lines, of every version in the batch that is or becomes current, per table. A row a
   * version yields twice (the same code in two codings, say) is kept once: it would only inflate the index.
   */
  private async indexLines(rows: VersionToWrite[]): Promise<Record<IndexTable, string[]>> {
    const index: Record<IndexTable, string[]> = {
      search_token: [],
      search_string: [],
      search_date: [],
      search_number: [],
      search_reference: [],
      search_composite: [],
    };
    for (const [n, row] of rows.entries()) {
      // Prepared ahead while the batch before is written: yielding now and then lets that batch's COPY
      // messages go out, so PostgreSQL does not wait for this loop.
      if (n % 50 === 49) await setImmediate();
      if (row.deleted || !row.supersedes || !row.resource) continue;
      const values = extractIndexValues(
        row.resource as { resourceType: string } & Record<string, unknown>,
        this.searchParameters,
      );
      addOriginalIdentifier(values, row, this.searchParameters);
      const k = row.positionGp;
      const t = row.resourceType;
      const add = (table: IndexTable, lines: string[]) => {
        for (const line of lines.length < 2 ? lines : new Set(lines)) index[table].push(line);
      };
      add(
        'search_token',
        values.tokens.map((v) => copyLine([k, t, v.param, v.system, v.code])),
      );
      add(
        'search_string',
        values.strings.map((v) => copyLine([k, t, v.param, v.normalized, v.exact])),
      );
      add(
        'search_date',
        values.dates.map((v) => copyLine([k, t, v.param, v.low, v.high])),
      );
      add(
        'search_number',
        values.numbers.map((v) => copyLine([k, t, v.param, v.value, v.system, v.code])),
      );
      add(
        'search_reference',
        values.references.map((v) => copyLine([k, t, v.param, v.targetType, v.targetId, v.raw])),
      );
      add(
        'search_composite',
        values.composites.map((v) =>
          copyLine([
            k,
            t,
            v.param,
            ...Array.from({ length: MAX_COMPOSITE_PARTS }, (_, i) =>
              COMPOSITE_PART_FIELDS.map((field) => v.parts[i]?.[field] ?? null),
            ).flat(),
          ]),
        ),
      );
    }
    return index;
  }
}

type IndexTable = (typeof SEARCH_INDEX_TABLES)[number];

const INDEX_COLUMNS: Record<IndexTable, string> = {
  search_token: 'vkey, resource_type, param, system, code',
  search_string: 'vkey, resource_type, param, normalized, exact',
  search_date: 'vkey, resource_type, param, low, high',
  search_number: 'vkey, resource_type, param, value, system, code',
  search_reference: 'vkey, resource_type, param, target_type, target_id, raw',
  search_composite: ['vkey', 'resource_type', 'param', ...COMPOSITE_PART_COLUMNS].join(', '),
};

const VERSION_COLUMNS =
  'resource_type, id, version_id, recorded_from, recorded_to, deleted, resource, event_id, position_tx, position_gp, lineage';

function addOriginalIdentifier(
  values: IndexValues,
  row: VersionToWrite,
  registry: SearchParameterRegistry,
): void {
  if (!registry.get(row.resourceType, 'identifier')) return;
  values.tokens.push({
    param: 'identifier',
    system: sourceSystemUri(row.lineage.source),
    code: row.lineage.sourceId,
  });
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
