import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { FHIR_JSON_PG_TYPES } from '@fa/platform';
import { copyOfFixture } from './fixture-databases';

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** Creates an empty database named <prefix>_<random> on a server; returns its name and URL. */
export async function createEmptyDatabase(
  serverUrl: string,
  prefix: string,
): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

/** A fresh database on the run's PostgreSQL (see test/global-setup.ts) or the one given, dropped by drop(). */
export async function createTestDatabase(
  poolSize = 20,
  serverUrl = process.env.DATABASE_URL,
): Promise<TestDatabase> {
  const server = runServer(serverUrl);
  return testDatabaseOn(server, await createEmptyDatabase(server, 'test'), poolSize);
}

/**
 * A fresh copy of the run's fixture database `name` (see fixture-databases.ts: built once per run by `build`,
 * copied per call), dropped by drop() like any test database.
 */
export async function createTestDatabaseFromFixture(
  name: string,
  build: (url: string) => Promise<void>,
  poolSize = 20,
  serverUrl = process.env.DATABASE_URL,
): Promise<TestDatabase> {
  const server = runServer(serverUrl);
  return testDatabaseOn(server, await copyOfFixture(server, name, build), poolSize);
}

function runServer(serverUrl: string | undefined): string {
  if (!serverUrl)
    throw new Error('DATABASE_URL is not set: run the tests through jest (global setup starts PostgreSQL)');
  return serverUrl;
}

function testDatabaseOn(serverUrl: string, { name, url }: { name: string; url: string }, poolSize: number) {
  const pool = new Pool({ connectionString: url, max: poolSize, types: FHIR_JSON_PG_TYPES });
  pool.on('error', () => undefined);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
