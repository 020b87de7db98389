import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CommandBus } from '@nestjs/cqrs';
import { START_OF_LOG } from '@fa/event-store';
import { FHIR_STORE_PROJECTION } from '@fa/fhir-store';
import { aggregateIdOf, FileIngestionService, IngestResourceVersionsCommand } from '@fa/ingestion';
import { IDENTITY_LINKS_PROJECTION } from '@fa/patient-identity';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { freshDatabase, openRuntime } from '../support/datasets';
import { latency, settle } from '../support/load';
import { percentile, record, round } from '../support/results';

export const REPLAYED = [FHIR_STORE_PROJECTION, IDENTITY_LINKS_PROJECTION];

export async function readsAndReplay(serverUrl: string, data: { dir: string; resources: number }) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  // Measured without tokens, as before the access checks: the auth scenario measures what they add.
  const app = await createAggregatorApp(runtime, { auth: { enabled: false } });
  await app.init();
  await runtime.runner.start();
  await app.get(FileIngestionService).ingest('bench', [data.dir], { ingestionInstance: 'bench' });
  // 100 patients get 10 and 100 versions: each version changes one extension value.
  const patients = (await fs.readFile(path.join(data.dir, 'Patient.ndjson'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const bus = app.get(CommandBus);
  const versioned = async (resource: Record<string, unknown>, versions: number) => {
    for (let v = 2; v <= versions; v++) {
      await bus.execute(
        new IngestResourceVersionsCommand(
          'bench',
          [
            {
              kind: 'resource',
              resource: { ...resource, extension: [{ url: 'http://example.org/v', valueInteger: v }] },
              origin: { http: { requestId: `v${v}` } },
            },
          ],
          'bench',
        ),
      );
    }
  };
  const one = patients.slice(0, 20);
  const ten = patients.slice(20, 40);
  const hundred = patients.slice(40, 60);
  for (const p of ten) await versioned(p, 10);
  for (const p of hundred) await versioned(p, 100);
  await runtime.runner.waitForCatchUp();
  await settle(runtime);
  const middle = new Date(Date.now() - 1).toISOString();
  const idOf = (p: { id: string }) => aggregateIdOf('bench', 'Patient', p.id);
  for (const [label, group] of [
    ['1 version', one],
    ['10 versions', ten],
    ['100 versions', hundred],
  ] as const) {
    const reads = group.map((p) => `/fhir/Patient/${idOf(p)}`);
    const asOf = group.map((p) => `/fhir/Patient/${idOf(p)}?_asOf=${middle}`);
    const history = group.map((p) => `/fhir/Patient/${idOf(p)}/_history?_count=20`);
    const figures: Record<string, number> = {};
    for (const [name, urls] of [
      ['read', reads],
      ['asOfRead', asOf],
      ['history', history],
    ] as const) {
      for (const concurrency of [1, 8]) {
        const { client: t, server } = await latency(app, urls, concurrency, 2000);
        figures[`${name} c${concurrency} p50 ms`] = round(percentile(t, 50), 2);
        figures[`${name} c${concurrency} p95 ms`] = round(percentile(t, 95), 2);
        figures[`${name} c${concurrency} p99 ms`] = round(percentile(t, 99), 2);
        figures[`${name} c${concurrency} server p50 ms`] = round(percentile(server, 50), 2);
        figures[`${name} c${concurrency} server p99 ms`] = round(percentile(server, 99), 2);
      }
    }
    record(`reads: resources with ${label}`, figures);
  }

  // Replay with a read loop running: read downtime must be zero.
  let reading = true;
  let failures = 0;
  let reads = 0;
  const server = app.getHttpServer();
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const loop = (async () => {
    while (reading) {
      const response = await fetch(`${base}/fhir/Patient/${idOf(one[reads % one.length])}`);
      await response.arrayBuffer();
      if (response.status !== 200) failures++;
      reads++;
    }
  })();
  const events = await runtime.store.countAfter(START_OF_LOG);
  const started = process.hrtime.bigint();
  // Every read model at once, as after an upgrade; the matcher is a process manager, not a read model: its
  // decisions are events and are replayed, not re-made.
  await Promise.all(REPLAYED.map((name) => runtime.runner.rebuild(name)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  reading = false;
  await loop;
  record(`replay: rebuild ${REPLAYED.join(' and ')} while reads continue`, {
    events,
    seconds: round(seconds, 1),
    eventsPerSecond: Math.round(events / seconds),
    readsDuringReplay: reads,
    failedReads: failures,
  });
  await app.close();
  await runtime.close();
}
