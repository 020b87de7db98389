export * from './contexts.module';
export * from './kafka-ingestion';
export * from './log-followers';
export * from './open-aggregator-runtime';
