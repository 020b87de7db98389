import type { PoolClient } from 'pg';
import {
  EventStore,
  GlobalPosition,
  ReadModelProjection,
  RecordedEvent,
  START_OF_LOG,
} from '@fa/event-store';
import type { Queryable } from '@fa/platform';
import {
  RESOURCE_DELETED,
  RESOURCE_VERSION_RECORDED,
  ResourceDeletedData,
  ResourceVersionLineage,
  ResourceVersionRecordedData,
} from '@fa/ingestion';
import { compileView, CompiledView } from '../domain/compile-view';
import type { ViewRow } from '../domain/view-definition';
import { ViewEvaluationError } from '../domain/view-definition.error';
import {
  ANALYTICS_READ_SCHEMA,
  MembershipRelation,
  patientIndexSql,
  viewFunctionsSql,
} from './view-functions';
import { ViewRowsBatch } from './view-rows-batch';
import {
  VIEW_DEFINITION_REGISTERED,
  VIEW_DEFINITION_STREAM_PREFIX,
  ViewDefinitionRegisteredData,
} from '../events/view-definition-registered.event';

export const VIEW_ROWS_PROJECTION = 'analytics-views';

/**
 * Materialized ViewDefinitions: the rows of every version of every resource a registered view reads, each with
 * the version's record-time range [recorded_from, recorded_to) as in the fhir-store (a late version, never
 * current, has no rows). Analysts query `analytics.<view>()` (current rows), `analytics.<view>(<instant>)` or
 * `analytics.<view>_history()` (every row with its range; view-functions.ts), or `analytics.view_rows` directly; `analytics.view_errors` lists versions the view could not be evaluated on. Registering a view (or a new definition of one) computes its rows from the
 * log up to the registration: the view's rows are as of record time, whenever the view was added.
 */
const SETUP_SQL = (schema: string) => `
CREATE TABLE ${schema}.view_definitions (
  name text PRIMARY KEY,
  resource_type text NOT NULL,
  definition jsonb NOT NULL,
  registered_at timestamptz NOT NULL,
  -- Log position up to which the registration's backfill applied this view: later windows skip what it did.
  backfilled_to text NOT NULL
);
CREATE TABLE ${schema}.view_rows (
  view_name text NOT NULL,
  resource_id text NOT NULL,
  row_number integer NOT NULL,
  row jsonb NOT NULL,
  recorded_from timestamptz NOT NULL,
  recorded_to timestamptz
);
CREATE TABLE ${schema}.view_errors (
  view_name text NOT NULL,
  resource_id text NOT NULL,
  element text NOT NULL,
  problem text NOT NULL,
  recorded_at timestamptz NOT NULL
);
CREATE INDEX view_rows_current ON ${schema}.view_rows (view_name, resource_id) WHERE recorded_to IS NULL;
CREATE INDEX view_rows_as_of ON ${schema}.view_rows (view_name, recorded_from);
`;

const BACKFILL_WINDOW = 1000;

interface Registered {
  name: string;
  view: CompiledView;
  /** Events at or before this position were applied to the view by its backfill. */
  backfilledTo: GlobalPosition;
}

export class ViewRowsProjection implements ReadModelProjection {
  readonly kind = 'read-model';
  readonly name = VIEW_ROWS_PROJECTION;
  readonly version = 3;
  readonly readSchema = ANALYTICS_READ_SCHEMA;
  readonly tables = ['view_definitions', 'view_rows', 'view_errors'] as const;

  /** Compiled views by definition text: each batch reads view_definitions (another process may have added one). */
  private readonly compiled = new Map<string, CompiledView>();

  /** membership: golden membership with ranges, for views whose patient key carries the golden-patient tag. */
  constructor(
    private readonly store: EventStore,
    private readonly membership?: MembershipRelation,
  ) {}

  /**
   * Only the registrations and the resource types of the views registered in this generation: with no view, the
   * projection reads no resource bodies at all.
   */
  async followedStreams(db: Queryable, schema: string): Promise<readonly string[]> {
    const { rows } = await db.query<{ resource_type: string }>(
      `SELECT DISTINCT resource_type FROM ${schema}.view_definitions ORDER BY 1`,
    );
    return [VIEW_DEFINITION_STREAM_PREFIX, ...rows.map((r) => `${r.resource_type}-`)];
  }

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    let views = await this.registered(client, schema);
    let batch = new ViewRowsBatch(schema);
    for (const event of events) {
      if (event.type === VIEW_DEFINITION_REGISTERED) {
        // A registration rewrites its view's rows in the database: what the batch holds goes first.
        await batch.flush(client);
        batch = new ViewRowsBatch(schema);
        const registered = await this.register(client, schema, event);
        views = [...views.filter((v) => v.name !== registered.name), registered];
      } else if (views.length > 0) {
        addVersion(batch, views, event, this.store);
      }
    }
    await batch.flush(client);
  }

  private async registered(client: PoolClient, schema: string): Promise<Registered[]> {
    const { rows } = await client.query<{ name: string; definition: string; backfilled_to: string }>(
      `SELECT name, definition::text AS definition, backfilled_to FROM ${schema}.view_definitions ORDER BY name`,
    );
    return rows.map((r) => ({
      name: r.name,
      view: this.compile(r.definition),
      backfilledTo: r.backfilled_to,
    }));
  }

  private compile(text: string): CompiledView {
    let view = this.compiled.get(text);
    if (!view) this.compiled.set(text, (view = compileView(JSON.parse(text))));
    return view;
  }

  private async register(client: PoolClient, schema: string, event: RecordedEvent): Promise<Registered> {
    const { name, definition } = event.data as ViewDefinitionRegisteredData;
    const view = compileView(definition);
    await client.query(`DELETE FROM ${schema}.view_rows WHERE view_name = $1`, [name]);
    await client.query(`DELETE FROM ${schema}.view_errors WHERE view_name = $1`, [name]);
    const backfilledTo = await this.backfill(client, schema, { name, view, backfilledTo: START_OF_LOG });
    const registered = { name, view, backfilledTo };
    await client.query(
      `INSERT INTO ${schema}.view_definitions (name, resource_type, definition, registered_at, backfilled_to)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET resource_type = $2, definition = $3, registered_at = $4, backfilled_to = $5`,
      [name, view.resource, definition, event.recordedAt, backfilledTo],
    );
    await client.query('SET LOCAL check_function_bodies = off');
    for (const sql of viewFunctionsSql(name, view, this.membership)) await client.query(sql);
    for (const sql of patientIndexSql(schema, name, view)) await client.query(sql);
    return registered;
  }

  /**
   * Every version of the view's resource type in the log as far as it can be read now, in log order; returns
   * that position. Going past the registration to the head covers the windows read before this view was
   * followed (the one holding the registration, and the one read ahead of it): later windows skip what the
   * backfill applied (Registered.backfilledTo).
   */
  private async backfill(
    client: PoolClient,
    schema: string,
    registered: Registered,
  ): Promise<GlobalPosition> {
    let after: GlobalPosition = START_OF_LOG;
    for (;;) {
      const window = await this.store.readAll({
        after,
        maxCount: BACKFILL_WINDOW,
        streamPrefixes: [`${registered.view.resource}-`],
      });
      if (window.scanned === 0) return after;
      const batch = new ViewRowsBatch(schema);
      for (const event of window.events) addVersion(batch, [registered], event, this.store);
      await batch.flush(client);
      after = window.lastPosition;
    }
  }
}

/** Adds one recorded version's rows (and the closing of the rows it supersedes) to the batch. */
function addVersion(
  batch: ViewRowsBatch,
  views: Registered[],
  event: RecordedEvent,
  store: Pick<EventStore, 'comparePositions'>,
) {
  if (event.type !== RESOURCE_VERSION_RECORDED && event.type !== RESOURCE_DELETED) return;
  const data = event.data as ResourceVersionRecordedData | ResourceDeletedData;
  const matching = views.filter(
    (v) =>
      v.view.resource === data.resourceType && store.comparePositions(event.position, v.backfilledTo) > 0,
  );
  if (matching.length === 0) return;
  // A late version (older by the source's clock than the current one) is never current: no rows.
  if ((event.metadata as ResourceVersionLineage).supersedesCurrent === false) return;
  for (const { name, view } of matching) {
    batch.close(name, data.id, event.recordedAt);
    if (event.type === RESOURCE_DELETED) continue;
    const resource = (data as ResourceVersionRecordedData).resource as unknown as Record<string, unknown>;
    let rows: ViewRow[];
    try {
      rows = view.rows(resource);
    } catch (error) {
      // The data breaks the view's promise (a non-collection column with several values): that version has no
      // rows, and analytics.view_errors says which element and resource, so one resource cannot stall every view.
      if (!(error instanceof ViewEvaluationError)) throw error;
      batch.error(name, data.id, error.element, error.problem, event.recordedAt);
      continue;
    }
    batch.insert(name, data.id, rows, event.recordedAt);
  }
}
