import { Pool, types as pgTypes } from 'pg';
import { parseFhirJson } from '@fa/fhir';
import { AppConfig } from '../config';
import { ensureEmbeddedPostgres } from './embedded-postgres';

export interface Database {
  pool: Pool;
  connectionString: string;
  close(): Promise<void>;
}

const JSON_OID = 114;
const JSONB_OID = 3802;

/**
 * Type parsers of every pool the project opens: json and jsonb values are parsed with parseFhirJson, so a
 * decimal PostgreSQL kept as written (jsonb stores numbers as numeric: `1.50` stays `1.50`) reaches Node as
 * written too, instead of as JSON.parse's double. Everything else is pg's default.
 */
export const FHIR_JSON_PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    (oid === JSON_OID || oid === JSONB_OID) && format !== 'binary'
      ? parseFhirJson
      : pgTypes.getTypeParser(oid, format)) as typeof pgTypes.getTypeParser,
};

/** Connects to DATABASE_URL, or to the embedded PostgreSQL of DATA_DIR (starting it if no process has). */
export async function openDatabase(
  config: Pick<AppConfig, 'databaseUrl' | 'dataDir'>,
  poolSize = 10,
): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await ensureEmbeddedPostgres(config.dataDir);
  const connectionString = config.databaseUrl ?? embedded!.connectionString;
  const pool = new Pool({ connectionString, max: poolSize, types: FHIR_JSON_PG_TYPES });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor may a checked-out one between two queries (pg emits 'error' on it when no query is running, e.g. a
  // projection's batch client while Node prepares the next batch): its next query fails instead, and the
  // pool drops it on release. Found by the PostgreSQL-gone drill (test/fault-drills.e2e-spec.ts).
  pool.on('connect', (client) => client.on('error', () => undefined));
  return {
    pool,
    connectionString,
    close: async () => {
      await pool.end();
      await embedded?.release();
    },
  };
}

/** Runs fn in a transaction on one client of the pool; rolls back on error. */
export async function inTransaction<T>(
  pool: Pool,
  fn: (client: import('pg').PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    return await transactionOn(client, () => fn(client));
  } finally {
    client.release();
  }
}

/** Runs fn in a transaction on a client the caller holds (e.g. under a session-level advisory lock). */
export async function transactionOn<T>(client: import('pg').PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Anything that runs a query: a Pool or one client of it. */
export type Queryable = Pick<import('pg').PoolClient, 'query'>;

/**
 * Runs read-only fn in one transaction on one client in which PostgreSQL cancels any statement running longer
 * than timeoutMs (SET LOCAL statement_timeout: the query is stopped in the server, not just abandoned), failing
 * it with SQLSTATE 57014. 0 means no limit.
 */
export async function withStatementTimeout<T>(
  pool: Pool,
  timeoutMs: number,
  fn: (client: import('pg').PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    await client.query(`SET TRANSACTION READ ONLY`);
    await client.query(`SET LOCAL statement_timeout = ${Math.max(0, Math.floor(timeoutMs))}`);
    return fn(client);
  });
}
