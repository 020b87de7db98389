/**
 * Test and benchmark infrastructure (`@fa/testkit`): real components for tests and benches to run against —
 * a fresh database on the run's PostgreSQL, librdkafka's mock Kafka broker, a TCP proxy that can cut a
 * connection — and a polling helper. Never imported by production code (dependency rule).
 */
export * from './eventually';
export * from './kafka-mock';
export * from './tcp-proxy';
export * from './test-database';
