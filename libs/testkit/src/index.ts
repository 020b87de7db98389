/**
 * Test and benchmark infrastructure (`@fa/testkit`): real components for tests and benches to run against —
 * a fresh database on the run's PostgreSQL, librdkafka's mock Kafka broker, a TCP proxy that can cut a
 * connection — a polling helper, and the public record-linkage datasets (Febrl, fake names) with their pairwise
 * scoring, read by the identity bench; two overlapping clinical sources cut from a Synthea export with the
 * ground truth of their same facts (the clinical test and bench). Never imported by production code (dependency rule).
 */
export * from './eventually';
export * from './kafka-mock';
export * from './kafka-dead-letters';
export * from './tcp-proxy';
export * from './test-database';
export * from './record-linkage/pairwise-evaluation';
export * from './record-linkage/record-linkage-datasets';
export * from './record-linkage/synthetic-households';
export * from './claims/duplicate-claims-generator';
export * from './clinical-sources';
export * from './ips-document-check';
export * from './service-client';
export * from './bulk-data-server';
