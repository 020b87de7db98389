export * from './event-store.port';
export * from './projection.port';
