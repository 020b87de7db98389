import type { EmbeddedDatabase } from '../libs/platform/src/database/embedded-postgres';
import { dropFixtures } from '../libs/testkit/src/fixture-databases';

export default async function globalTeardown(): Promise<void> {
  if (process.env.DATABASE_URL) await dropFixtures(process.env.DATABASE_URL);
  const db = (globalThis as Record<string, unknown>).__EMBEDDED_PG__ as EmbeddedDatabase | undefined;
  await db?.release();
}
