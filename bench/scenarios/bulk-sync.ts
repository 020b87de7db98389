import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateClientKeyPair } from '@fa/access';
import { ndjsonFolder, startBulkDataServer } from '@fa/testkit';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { Dataset, freshDatabase, openRuntime } from '../support/datasets';
import { runCliIngest, runCliProcess } from '../support/processes';
import { record, round } from '../support/results';

/** `cli bulk-sync --to store` as a user runs it; returns the resources its summary reports. */
async function runCliBulkSync(databaseUrl: string, args: string[]): Promise<number> {
  const { code, out, err } = await runCliProcess(databaseUrl, ['bulk-sync', ...args]);
  const resources = /; (\d+) resources in/.exec(out);
  if (code !== 0 || !resources) throw new Error(`cli bulk-sync failed (${code}): ${out}\n${err}`);
  return Number(resources[1]);
}

/** Seconds from launching the CLI to the service's projections having caught up with what it recorded. */
async function endToEnd(serverUrl: string, run: (url: string) => Promise<number>) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  const app = await createAggregatorApp(runtime);
  await app.init();
  await runtime.runner.start();
  const started = process.hrtime.bigint();
  const resources = await run(url);
  await runtime.runner.waitForCatchUp(60 * 60_000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await app.close();
  await runtime.close();
  return { resources, seconds };
}

/**
 * bulk-sync end to end: a Bulk Data server (the test one, real HTTP, tokens, gzip) exporting the dataset, and
 * `cli bulk-sync --to store` in its own process recording it while the service's projections follow. Baseline
 * in the same run: `cli ingest` of the same files from disk, measured the same way.
 */
export async function bulkSync(serverUrl: string, data: Dataset) {
  const baseline = await endToEnd(serverUrl, async (url) => (await runCliIngest(url, data.dir)).recorded);
  const keys = await generateClientKeyPair('ES384');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bench-bulk-'));
  const keyFile = path.join(dir, 'private-key.jwk.json');
  await fs.writeFile(keyFile, JSON.stringify(keys));
  const server = await startBulkDataServer({
    data: ndjsonFolder(data.dir),
    clientId: 'bench',
    jwks: keys.publicJwks as never,
    faults: { gzip: true, pollsBeforeComplete: 0 },
  });
  try {
    const synced = await endToEnd(serverUrl, (url) =>
      runCliBulkSync(url, [
        ...['--url', server.base, '--client-id', 'bench', '--key', keyFile, '--source', 'bench'],
        ...['--poll', '0.2', '--parallel', '2'],
      ]),
    );
    record('bulk-sync: cli bulk-sync --to store from a Bulk Data server, service projections following', {
      resources: synced.resources,
      endToEndResourcesPerSecond: Math.round(synced.resources / synced.seconds),
      secondsToQueryable: round(synced.seconds, 1),
      baselineCliIngestResourcesPerSecond: Math.round(baseline.resources / baseline.seconds),
      ratioToCliIngest: round(synced.resources / synced.seconds / (baseline.resources / baseline.seconds), 3),
    });
  } finally {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
