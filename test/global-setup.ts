import * as path from 'node:path';
import { ensureEmbeddedPostgres } from '../libs/platform/src/database/embedded-postgres';

/**
 * One real PostgreSQL for the whole run: DATABASE_URL when given, else an embedded server under .test-data/.
 * Each test file then creates its own database (test/support/test-database.ts).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const db = await ensureEmbeddedPostgres(path.resolve(__dirname, '..', '.test-data'));
  process.env.DATABASE_URL = db.connectionString;
  (globalThis as Record<string, unknown>).__EMBEDDED_PG__ = db;
}
