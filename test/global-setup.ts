import * as path from 'node:path';
import { ensureEmbeddedPostgres } from '../libs/platform/src/database/embedded-postgres';
import { dropFixtures, startFixtureRun } from '../libs/testkit/src/fixture-databases';
import { ensureKafkaMockBinary } from '../libs/testkit/src/kafka-mock';

/**
 * One real PostgreSQL for the whole run: DATABASE_URL when given, else an embedded server under .test-data/.
 * Each test file then creates its own database (test/support/test-database.ts), or a copy of a fixture built
 * once per run (libs/testkit/src/fixture-databases.ts; this run's id names them, the teardown drops them).
 * The Kafka mock broker is built first (unless KAFKA_BROKERS names a real cluster): a machine that cannot
 * build it stops the run here with one message saying what to install, instead of failing test by test.
 */
export default async function globalSetup(): Promise<void> {
  if (!process.env.KAFKA_BROKERS) await ensureKafkaMockBinary();
  startFixtureRun();
  if (process.env.DATABASE_URL) return;
  const db = await ensureEmbeddedPostgres(path.resolve(__dirname, '..', '.test-data'));
  process.env.DATABASE_URL = db.connectionString;
  (globalThis as Record<string, unknown>).__EMBEDDED_PG__ = db;
  // A server this run started serves no other run: fixtures left by a run that died are dropped.
  if (db.owned) await dropFixtures(db.connectionString, { everyRun: true });
}
