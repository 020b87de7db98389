import type { Pool, PoolClient } from 'pg';
import { transactionOn } from '@fa/platform';
import { GlobalPosition, START_OF_LOG } from '../event-store.port';
import type { Projection, ProjectionStatus } from '../projection.port';

export const PROJECTION_REGISTRY_SQL = `
CREATE TABLE IF NOT EXISTS projections (
  name text PRIMARY KEY,
  version integer NOT NULL,
  active_generation integer NOT NULL,
  rebuild jsonb
);
CREATE TABLE IF NOT EXISTS checkpoints (
  projection text NOT NULL,
  generation integer NOT NULL,
  position text NOT NULL,
  events_processed bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, generation)
);
`;

export type RebuildState = NonNullable<ProjectionStatus['rebuild']>;

/** Stable 64-bit advisory lock key for a name (hashtextextended in SQL). */
export const LOCK_KEY = `hashtextextended($1, 7431)`;

/**
 * The projections' bookkeeping in PostgreSQL: which generation of each projection is active, each generation's
 * checkpoint, and the generations themselves — one schema each (fhir_store_g3), read through views in the
 * projection's read schema (fhir_store) that a swap repoints in one transaction.
 */
export class ProjectionRegistry {
  constructor(private readonly pool: Pool) {}

  /** Creates the registry tables, and a first generation for each projection not registered yet. */
  async initialize(projections: readonly Projection[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`, ['projection-registry']);
      try {
        await client.query(PROJECTION_REGISTRY_SQL);
        for (const projection of projections) {
          const existing = await client.query('SELECT 1 FROM projections WHERE name = $1', [projection.name]);
          if (existing.rowCount === 0) await this.createFirstGeneration(client, projection);
        }
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, ['projection-registry']);
      }
    } finally {
      client.release();
    }
  }

  async storedVersion(name: string): Promise<number> {
    const stored = await this.pool.query<{ version: number }>(
      'SELECT version FROM projections WHERE name = $1',
      [name],
    );
    return stored.rows[0].version;
  }

  async activeCheckpoint(name: string): Promise<{ generation: number; position: GlobalPosition }> {
    const result = await this.pool.query<{ active_generation: number; position: string }>(
      `SELECT p.active_generation, c.position
         FROM projections p JOIN checkpoints c ON c.projection = p.name AND c.generation = p.active_generation
        WHERE p.name = $1`,
      [name],
    );
    return { generation: result.rows[0].active_generation, position: result.rows[0].position };
  }

  /**
   * Locks the active checkpoint row inside the caller's transaction and returns it: a batch applies only if
   * the checkpoint is still where it was read, so two processes never apply the same events.
   */
  async lockActiveCheckpoint(
    client: PoolClient,
    name: string,
  ): Promise<{ generation: number; position: GlobalPosition }> {
    const current = await client.query<{ active_generation: number; position: string }>(
      `SELECT p.active_generation, c.position
         FROM projections p JOIN checkpoints c ON c.projection = p.name AND c.generation = p.active_generation
        WHERE p.name = $1
          FOR UPDATE OF c FOR SHARE OF p`,
      [name],
    );
    return { generation: current.rows[0].active_generation, position: current.rows[0].position };
  }

  async saveCheckpoint(
    client: PoolClient,
    name: string,
    generation: number,
    position: GlobalPosition,
    count: number,
  ): Promise<void> {
    await client.query(
      `UPDATE checkpoints SET position = $3, events_processed = events_processed + $4, updated_at = now()
        WHERE projection = $1 AND generation = $2`,
      [name, generation, position, count],
    );
  }

  async statusRows(): Promise<
    { name: string; version: number; activeGeneration: number; checkpoint: string; rebuild?: RebuildState }[]
  > {
    const rows = await this.pool.query<{
      name: string;
      version: number;
      active_generation: number;
      rebuild: RebuildState | null;
      position: string;
    }>(
      `SELECT p.name, p.version, p.active_generation, p.rebuild, c.position
         FROM projections p JOIN checkpoints c ON c.projection = p.name AND c.generation = p.active_generation
        ORDER BY p.name`,
    );
    return rows.rows.map((row) => ({
      name: row.name,
      version: row.version,
      activeGeneration: row.active_generation,
      checkpoint: row.position,
      ...(row.rebuild ? { rebuild: row.rebuild } : {}),
    }));
  }

  /** Records a rebuild's progress on the projection's registry row (read by status). */
  async reportRebuild(name: string, state: RebuildState): Promise<void> {
    await this.pool.query('UPDATE projections SET rebuild = $2 WHERE name = $1', [name, state]);
  }

  /** A new, empty generation for a rebuild, its checkpoint at the start of the log; indexes deferred. */
  async createRebuildGeneration(projection: Projection): Promise<number> {
    const client = await this.pool.connect();
    try {
      const next = await client.query<{ next: number }>(
        'SELECT coalesce(max(generation), 0) + 1 AS next FROM checkpoints WHERE projection = $1',
        [projection.name],
      );
      const generation = next.rows[0].next;
      await transactionOn(client, async () => {
        await this.createGeneration(client, projection, generation, { deferIndexes: true });
        await client.query('INSERT INTO checkpoints (projection, generation, position) VALUES ($1, $2, $3)', [
          projection.name,
          generation,
          START_OF_LOG,
        ]);
      });
      return generation;
    } finally {
      client.release();
    }
  }

  /**
   * Inside the swap transaction: the registry row locked so no live batch interleaves with the last events the
   * rebuild applies before it repoints the views.
   */
  async lockRegistryRow(client: PoolClient, name: string): Promise<void> {
    await client.query('SELECT 1 FROM projections WHERE name = $1 FOR UPDATE', [name]);
  }

  /** Makes `generation` the one readers see, in the caller's transaction. */
  async activate(client: PoolClient, projection: Projection, generation: number, state: RebuildState) {
    await this.pointViewsAt(client, projection, generation);
    await client.query(
      'UPDATE projections SET active_generation = $2, version = $3, rebuild = $4 WHERE name = $1',
      [projection.name, generation, projection.version, state],
    );
  }

  async activeGeneration(name: string): Promise<number> {
    const result = await this.pool.query<{ active_generation: number }>(
      'SELECT active_generation FROM projections WHERE name = $1',
      [name],
    );
    return result.rows[0].active_generation;
  }

  async dropGeneration(projection: Projection, generation: number): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.schemaName(projection, generation)} CASCADE`);
  }

  /** Generations left by a rebuild that crashed before its swap. */
  async dropAbandonedGenerations(projection: Projection, active: number): Promise<void> {
    const schemas = await this.pool.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 || '\\_g%'`,
      [projection.readSchema],
    );
    for (const { nspname } of schemas.rows) {
      if (nspname !== this.schemaName(projection, active) && /_g\d+$/.test(nspname)) {
        await this.pool.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
      }
    }
  }

  schemaName(projection: Projection, generation: number): string {
    if (!/^[a-z_][a-z0-9_]*$/.test(projection.readSchema))
      throw new Error(`Bad schema name ${projection.readSchema}`);
    return `${projection.readSchema}_g${generation}`;
  }

  private async createFirstGeneration(client: PoolClient, projection: Projection): Promise<void> {
    await transactionOn(client, async () => {
      await this.createGeneration(client, projection, 1);
      await this.pointViewsAt(client, projection, 1);
      await client.query('INSERT INTO projections (name, version, active_generation) VALUES ($1, $2, 1)', [
        projection.name,
        projection.version,
      ]);
      await client.query('INSERT INTO checkpoints (projection, generation, position) VALUES ($1, 1, $2)', [
        projection.name,
        START_OF_LOG,
      ]);
    });
  }

  private async createGeneration(
    client: PoolClient,
    projection: Projection,
    generation: number,
    options: { deferIndexes?: boolean } = {},
  ): Promise<void> {
    const schema = this.schemaName(projection, generation);
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    await projection.setup(client, schema);
    if (projection.deferredIndexSql && !options.deferIndexes) {
      await client.query(projection.deferredIndexSql(schema));
    }
  }

  /** Replaces the read views in one transaction: readers see either the old or the new generation, never neither. */
  private async pointViewsAt(client: PoolClient, projection: Projection, generation: number): Promise<void> {
    const schema = this.schemaName(projection, generation);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${projection.readSchema}`);
    for (const table of projection.tables) {
      await client.query(`DROP VIEW IF EXISTS ${projection.readSchema}.${table}`);
      await client.query(`CREATE VIEW ${projection.readSchema}.${table} AS SELECT * FROM ${schema}.${table}`);
    }
  }
}
