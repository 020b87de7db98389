export * from './event-store.port';
export * from './projection.port';
export * from './postgres/postgres-event-store';
export * from './projections/projection-runner';
export type { RebuildState } from './projections/projection-registry';
export * from './event-store.module';
export * from './open-event-store';
export * from './eventstoredb/eventstoredb-event-store';
