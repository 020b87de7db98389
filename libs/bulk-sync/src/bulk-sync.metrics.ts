import { Counter } from 'prom-client';

/** Prometheus metrics of bulk-sync (default registry). */
export const bulkSyncMetrics = {
  resources: new Counter({
    name: 'fhir_bulk_sync_resources_total',
    help: 'Export lines handled by bulk-sync, by source, resource type and outcome (recorded, unchanged, rejected, published)',
    labelNames: ['source', 'type', 'outcome'] as const,
  }),
  completenessWarnings: new Counter({
    name: 'fhir_bulk_sync_completeness_warnings_total',
    help: 'Completeness warnings after a sync: a type below its manifest count or dropped from the previous full export',
    labelNames: ['source', 'type', 'kind'] as const,
  }),
};
