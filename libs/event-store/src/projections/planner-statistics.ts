import type { Pool } from 'pg';
import type { Projection } from '../projection.port';
import type { ProjectionRegistry } from './projection-registry';

/**
 * A bulk load leaves the planner believing the tables are nearly empty until autovacuum gets to them, and it
 * then picks nested loops that take seconds instead of milliseconds (seen on synthea-79 searches). ANALYZE
 * after 5,000 events, then each time the count since doubles: a handful of runs for any load size.
 */
export class PlannerStatistics {
  /** Events applied per projection since its tables' planner statistics were last refreshed. */
  private readonly growth = new Map<string, { since: number; threshold: number }>();

  constructor(
    private readonly pool: Pool,
    private readonly registry: ProjectionRegistry,
  ) {}

  async applied(projection: Projection, generation: number, count: number): Promise<void> {
    const growth = this.growth.get(projection.name) ?? { since: 0, threshold: 5_000 };
    growth.since += count;
    if (growth.since >= growth.threshold) {
      await this.analyze(projection, generation);
      growth.since = 0;
      growth.threshold *= 2;
    }
    this.growth.set(projection.name, growth);
  }

  async analyze(projection: Projection, generation: number): Promise<void> {
    const schema = this.registry.schemaName(projection, generation);
    await this.pool.query(`ANALYZE ${projection.tables.map((table) => `${schema}.${table}`).join(', ')}`);
  }
}
