import type { Pool } from 'pg';

/**
 * Runs a schema's `CREATE … IF NOT EXISTS` script under a session advisory lock, so that processes starting
 * together (the service and the CLI) do not race on it.
 */
export async function migrateUnderLock(pool: Pool, lockKey: number, sql: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockKey]);
    await client.query(sql);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => undefined);
    client.release();
  }
}
