import { Counter, Gauge, Histogram } from 'prom-client';

/** Prometheus metrics of the Ingestion context (default registry, served at /metrics by the service). */
export const ingestionMetrics = {
  records: new Counter({
    name: 'fhir_ingest_records_total',
    help: 'Source records handled, by source and outcome (recorded, deleted, unchanged, rejected)',
    labelNames: ['source', 'outcome'] as const,
  }),
  rejected: new Counter({
    name: 'fhir_ingest_rejected_total',
    help: 'Rejected source records by reason code',
    labelNames: ['code'] as const,
  }),
  retries: new Counter({
    name: 'fhir_ingest_retries_total',
    help: 'Retries of an append or dead-letter publish after a failure (store or broker unreachable)',
    labelNames: ['operation'] as const,
  }),
  deadLetters: new Counter({
    name: 'fhir_ingest_dead_letters_total',
    help: 'Messages sent to a dead-letter topic',
    labelNames: ['topic'] as const,
  }),
  consumerLag: new Gauge({
    name: 'fhir_kafka_consumer_lag',
    help: 'Messages between the last fetched batch and the partition high watermark',
    labelNames: ['topic', 'partition'] as const,
  }),
  appendSeconds: new Histogram({
    name: 'fhir_ingest_append_seconds',
    help: 'Time to decide and durably append one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
};
