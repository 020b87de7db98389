import 'reflect-metadata';
import * as path from 'node:path';
import { ensureEmbeddedPostgres } from '@fa/platform';
import { FileIngestionService } from '@fa/ingestion';
import { createAggregatorApp } from '../apps/aggregator/src';
import { freshDatabase, openRuntime } from './support/datasets';
import { REPO } from './support/results';

async function main() {
  const server = (await ensureEmbeddedPostgres(path.join(REPO, '.bench-data'))).connectionString;
  const runtime = await openRuntime(await freshDatabase(server));
  const app = await createAggregatorApp(runtime);
  await app.init();
  await runtime.runner.start();
  const d = '/work/shared/data/synthea-79';
  const t0 = Date.now();
  const timer = setInterval(async () => {
    const s = await runtime.runner.status();
    console.log(((Date.now() - t0) / 1000).toFixed(0), s.map((p) => `${p.name}:${p.lag}`).join(' '));
  }, 3000);
  await app.get(FileIngestionService).ingest(
    'a',
    ['Patient', 'Claim', 'ExplanationOfBenefit'].map((t) => `${d}/${t}.ndjson.gz`),
    { ingestionInstance: 'x' },
  );
  console.log('ingested', (Date.now() - t0) / 1000);
  await runtime.runner.waitForCatchUp(600_000);
  console.log('caught up', (Date.now() - t0) / 1000);
  clearInterval(timer);
  await app.close();
  await runtime.close();
  process.exit(0);
}
void main();
