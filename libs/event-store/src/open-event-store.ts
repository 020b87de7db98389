import { AppConfig, Database, openDatabase } from '@fa/platform';
import type { EventStore } from './event-store.port';
import type { Projection } from './projection.port';
import { PostgresEventStore } from './postgres/postgres-event-store';
import { ProjectionRunner, ProjectionRunnerOptions } from './projections/projection-runner';

export interface EventStoreRuntime {
  database: Database;
  store: PostgresEventStore;
  runner: ProjectionRunner;
  close(): Promise<void>;
}

/**
 * Opens the database (embedded or DATABASE_URL), migrates the event store and registers the projections. Give
 * a function for projections that need the store itself (process managers that append their decisions).
 */
export async function openEventStore(
  config: Pick<AppConfig, 'databaseUrl' | 'dataDir'>,
  projections: Projection[] | ((store: EventStore) => Projection[]),
  options: ProjectionRunnerOptions & { poolSize?: number } = {},
): Promise<EventStoreRuntime> {
  const database = await openDatabase(config, options.poolSize ?? 10);
  try {
    const store = new PostgresEventStore(database.pool);
    await store.migrate();
    const followers = typeof projections === 'function' ? projections(store) : projections;
    const runner = new ProjectionRunner(database.pool, store, followers, options);
    await runner.initialize();
    return {
      database,
      store,
      runner,
      close: async () => {
        await runner.stop();
        await store.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
