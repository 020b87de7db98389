import { AppConfig, Database, openDatabase } from '@fa/platform';
import type { EventStore } from './event-store.port';
import { EventStoreDbEventStore } from './eventstoredb/eventstoredb-event-store';
import type { Projection } from './projection.port';
import { PostgresEventStore } from './postgres/postgres-event-store';
import { ProjectionRunner, ProjectionRunnerOptions } from './projections/projection-runner';

export interface EventStoreRuntime {
  /** The read models' and checkpoints' database (and the event log's, with the PostgreSQL store). */
  database: Database;
  store: EventStore;
  runner: ProjectionRunner;
  close(): Promise<void>;
}

export type EventStoreConfig = Pick<AppConfig, 'databaseUrl' | 'dataDir'> &
  Partial<Pick<AppConfig, 'eventStore'>>;

/** The configured event store: PostgreSQL in `database` (migrated) or EventStoreDB at its URL. */
export async function openConfiguredEventStore(
  config: EventStoreConfig,
  database: Database,
): Promise<EventStore> {
  if (config.eventStore?.kind === 'eventstoredb')
    return EventStoreDbEventStore.connect(config.eventStore.url);
  const store = new PostgresEventStore(database.pool);
  await store.migrate();
  return store;
}

/**
 * Opens the database (embedded or DATABASE_URL), the event store (PostgreSQL by default, EventStoreDB with
 * EVENT_STORE=eventstoredb) and registers the projections, whose read models and checkpoints are in PostgreSQL
 * either way. Give a function for projections that need the store itself (process managers that append their
 * decisions).
 */
export async function openEventStore(
  config: EventStoreConfig,
  projections: Projection[] | ((store: EventStore) => Projection[]),
  options: ProjectionRunnerOptions & { poolSize?: number } = {},
): Promise<EventStoreRuntime> {
  const database = await openDatabase(config, options.poolSize ?? 10);
  let store: EventStore | undefined;
  try {
    store = await openConfiguredEventStore(config, database);
    const followers = typeof projections === 'function' ? projections(store) : projections;
    const runner = new ProjectionRunner(database.pool, store, followers, options);
    await runner.initialize();
    const opened = store;
    return {
      database,
      store: opened,
      runner,
      close: async () => {
        await runner.stop();
        await opened.close();
        await database.close();
      },
    };
  } catch (error) {
    await store?.close().catch(() => undefined);
    await database.close();
    throw error;
  }
}
