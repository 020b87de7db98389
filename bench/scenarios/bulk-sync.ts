import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommandBus } from '@nestjs/cqrs';
import { ChangeClientRegistryCommand, generateClientKeyPair } from '@fa/access';
import { ExportWorker } from '@fa/bulk-data';
import { FileIngestionService } from '@fa/ingestion';
import { readExportConfig } from '@fa/platform';
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
 * bulk-sync end to end: `cli bulk-sync --to store` in its own process recording an export while the receiving
 * service's projections follow, from two servers: an instance of ours holding the dataset (`$export`, tokens),
 * and the tests' Bulk Data server (real HTTP, tokens, gzip; no store behind it). Baseline in the same run:
 * `cli ingest` of the same files from disk, measured the same way.
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
  // Our own server as the other side: an instance holding the dataset exports it ($export, tokens required).
  const exporterRuntime = await openRuntime(await freshDatabase(serverUrl));
  const exporter = await createAggregatorApp(exporterRuntime, {
    exports: { ...readExportConfig({}, dir), pageSize: 1000 },
  });
  await exporter.init();
  await exporter.get(FileIngestionService).ingest('bench', [data.dir], { ingestionInstance: 'bench' });
  await exporterRuntime.runner.drain(60 * 60_000);
  await exporterRuntime.runner.start();
  exporter.get(ExportWorker).start();
  await exporter.get(CommandBus).execute(
    new ChangeClientRegistryCommand({
      kind: 'register',
      clientId: 'bench',
      scope: 'system/*.rs',
      jwks: keys.publicJwks,
      by: 'bench',
    }),
  );
  const http = exporter.getHttpServer() as Server;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const ourBase = `http://127.0.0.1:${(http.address() as AddressInfo).port}/fhir`;
  const syncFrom = async (label: string, base: string) => {
    const synced = await endToEnd(serverUrl, (url) =>
      runCliBulkSync(url, [
        ...['--url', base, '--client-id', 'bench', '--key', keyFile, '--source', 'bench'],
        ...['--poll', '0.5', '--parallel', '2'],
      ]),
    );
    const perSecond = synced.resources / synced.seconds;
    const baselinePerSecond = baseline.resources / baseline.seconds;
    record(`bulk-sync: ${label} → cli bulk-sync --to store → a fresh instance`, {
      resources: synced.resources,
      endToEndResourcesPerSecond: Math.round(perSecond),
      secondsToQueryable: round(synced.seconds, 1),
      baselineCliIngestResourcesPerSecond: Math.round(baselinePerSecond),
      ratioToCliIngest: round(perSecond / baselinePerSecond, 3),
    });
  };
  try {
    await syncFrom('one instance $export', ourBase);
    await syncFrom('the test Bulk Data server', server.base);
  } finally {
    await exporter.close();
    await exporterRuntime.close();
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
