export * from './events/resource-version-recorded.event';
