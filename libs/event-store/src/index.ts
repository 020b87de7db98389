export * from './event-store.port';
export * from './projection.port';
export * from './postgres/postgres-event-store';
export * from './testing/event-store.contract';
