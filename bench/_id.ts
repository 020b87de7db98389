import 'reflect-metadata';
import * as path from 'node:path';
import { ensureEmbeddedPostgres } from '@fa/platform';
import { createEmptyDatabase } from '../test/support/test-database';
import { identityThroughPipeline } from './identity-pipeline';
(async () => {
  const server = (await ensureEmbeddedPostgres(path.join(__dirname, '..', '.bench-data'))).connectionString;
  const rows = await identityThroughPipeline(
    async () => (await createEmptyDatabase(server, 'bench')).url,
    process.argv.slice(2),
  );
  console.table(rows);
  process.exit(0);
})();
