import {
  EventStoreConfig,
  EventStoreRuntime,
  openEventStore,
  ProjectionRunnerOptions,
} from '@fa/event-store';
import type { AppConfig } from '@fa/platform';
import { logFollowers, LogFollowerOptions } from './log-followers';

/**
 * The database, the event store and the projection runner with every log follower registered: what the
 * service, the CLI, the end-to-end tests and the benches all run on. A full AppConfig brings its identity
 * settings; a bare database config (tests, benches) reads them from the environment.
 */
export function openAggregatorRuntime(
  config: EventStoreConfig & Partial<Pick<AppConfig, 'identity'>>,
  options: ProjectionRunnerOptions & LogFollowerOptions & { poolSize?: number } = {},
): Promise<EventStoreRuntime> {
  return openEventStore(
    config,
    (store) => logFollowers(store, { identity: config.identity, ...options }),
    options,
  );
}
