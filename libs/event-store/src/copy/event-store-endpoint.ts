import { AppConfig, openDatabase } from '@fa/platform';
import type { EventStore } from '../event-store.port';
import { EventStoreDbEventStore } from '../eventstoredb/eventstoredb-event-store';
import { PostgresEventStore } from '../postgres/postgres-event-store';

export interface EventStoreEndpoint {
  store: EventStore;
  /** The endpoint for people: kind and host, never a password. */
  label: string;
  close(): Promise<void>;
}

/**
 * An event store named on a command line: a PostgreSQL URL (postgres://…), an EventStoreDB connection string
 * (esdb://…, esdb+discover://…), or the configured ones: `postgres` (DATABASE_URL or the embedded server) and
 * `eventstoredb` (EVENTSTORE_URL).
 */
export async function openEventStoreEndpoint(
  spec: string,
  config: Pick<AppConfig, 'databaseUrl' | 'dataDir'> & { eventStoreUrl?: string },
): Promise<EventStoreEndpoint> {
  if (spec === 'eventstoredb') {
    if (!config.eventStoreUrl) throw new Error('"eventstoredb" names EVENTSTORE_URL, which is not set');
    return openEventStoreEndpoint(config.eventStoreUrl, config);
  }
  if (/^esdb(\+discover)?:\/\//.test(spec)) {
    const store = EventStoreDbEventStore.connect(spec);
    return { store, label: `eventstoredb ${redact(spec)}`, close: () => store.close() };
  }
  const databaseUrl = spec === 'postgres' ? config.databaseUrl : spec;
  if (spec !== 'postgres' && !/^postgres(ql)?:\/\//.test(spec))
    throw new Error(
      `${JSON.stringify(redact(spec))} is not an event store: give postgres://…, esdb://…, postgres or eventstoredb`,
    );
  const database = await openDatabase({ databaseUrl, dataDir: config.dataDir }, 4);
  try {
    const store = new PostgresEventStore(database.pool);
    await store.migrate();
    return {
      store,
      label: `postgres ${databaseUrl ? redact(databaseUrl) : `embedded (${config.dataDir})`}`,
      close: async () => {
        await store.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** user:password@ → user:***@ */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
