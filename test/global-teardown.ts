import type { EmbeddedDatabase } from '../libs/platform/src/database/embedded-postgres';
import { dropFixtures } from '../libs/testkit/src/fixture-databases';

export default async function globalTeardown(): Promise<void> {
  const servers = ((globalThis as Record<string, unknown>).__EMBEDDED_PG__ ?? []) as EmbeddedDatabase[];
  const urls = servers.length > 0 ? servers.map((s) => s.connectionString) : [process.env.DATABASE_URL];
  for (const url of urls) if (url) await dropFixtures(url);
  for (const server of servers) await server.release();
}
