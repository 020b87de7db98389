export * from './ingestion-event';
export * from './ingestion-rejected.event';
export * from './lineage';
export * from './resource-deleted.event';
export * from './resource-version-recorded.event';
export * from './stream-ids';
