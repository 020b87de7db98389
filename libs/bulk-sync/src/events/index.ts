export * from './bulk-sync-event';
