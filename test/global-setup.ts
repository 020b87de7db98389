import * as path from 'node:path';
import {
  ensureEmbeddedPostgres,
  type EmbeddedDatabase,
} from '../libs/platform/src/database/embedded-postgres';
import { dropFixtures, startFixtureRun } from '../libs/testkit/src/fixture-databases';
import { ensureKafkaMockBinary } from '../libs/testkit/src/kafka-mock';

/**
 * Real PostgreSQL for the run: DATABASE_URL when given, else embedded servers under .test-data/, one per Jest
 * worker (DATABASE_URL_WORKER_<n>; test/worker-database.ts points each worker's DATABASE_URL at its own). One
 * server per worker because the event store's readers wait for every transaction open on the server
 * (pg_snapshot_xmin is server-wide): a suite's long append in another database would hold back this suite's reads.
 * Each test file then creates its own database (libs/testkit/src/test-database.ts), or a copy of a fixture built
 * once per run and server (libs/testkit/src/fixture-databases.ts; this run's id names them, the teardown drops them).
 * The Kafka mock broker is built first (unless KAFKA_BROKERS names a real cluster): a machine that cannot
 * build it stops the run here with one message saying what to install, instead of failing test by test.
 */
export default async function globalSetup(globalConfig: { maxWorkers?: number }): Promise<void> {
  if (!process.env.KAFKA_BROKERS) await ensureKafkaMockBinary();
  startFixtureRun();
  // The processes tests start without a DATA_DIR of their own (the CLI, the service) keep their key ring and audit
  // anchors here, not in the working tree's .data, which is the demo's.
  process.env.DATA_DIR ??= path.resolve(__dirname, '..', '.test-data', 'data');
  if (process.env.DATABASE_URL) return;
  const workers = Math.max(1, Math.min(4, globalConfig.maxWorkers ?? 1));
  const root = path.resolve(__dirname, '..', '.test-data');
  const servers: EmbeddedDatabase[] = [];
  for (let worker = 1; worker <= workers; worker++) {
    const db = await ensureEmbeddedPostgres(worker === 1 ? root : path.join(root, `worker-${worker}`));
    servers.push(db);
    process.env[`DATABASE_URL_WORKER_${worker}`] = db.connectionString;
    // A server this run started serves no other run: fixtures left by a run that died are dropped.
    if (db.owned) await dropFixtures(db.connectionString, { everyRun: true });
  }
  process.env.DATABASE_URL = servers[0].connectionString;
  (globalThis as Record<string, unknown>).__EMBEDDED_PG__ = servers;
}
