import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { aggregateIdOf, FileIngestionService } from '@fa/ingestion';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { freshDatabase, openRuntime, twoPhases } from '../support/datasets';
import { answerSize, deepPage, latency, originOf, settle } from '../support/load';
import { percentile, record, round } from '../support/results';

export async function search(serverUrl: string, data: { dir: string; resources: number }) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  const app = await createAggregatorApp(runtime);
  await app.init();
  await runtime.runner.start();
  const phases = await twoPhases(data.dir);
  const files = app.get(FileIngestionService);
  const ingestStarted = process.hrtime.bigint();
  await files.ingest('bench', [phases.first], { ingestionInstance: 'bench' });
  await runtime.runner.waitForCatchUp();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const middle = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 10));
  await files.ingest('bench', [phases.second], { ingestionInstance: 'bench' });
  await runtime.runner.waitForCatchUp();
  const ingestSeconds = Number(process.hrtime.bigint() - ingestStarted) / 1e9;
  await settle(runtime);

  // Query values from the data: the commonest Observation codes, patient family names, the largest patient.
  const lines = async (type: string) =>
    (await fs.readFile(path.join(data.dir, `${type}.ndjson`), 'utf8')).split('\n').filter((l) => l.trim());
  const codeCounts = new Map<string, number>();
  for (const line of await lines('Observation')) {
    const coding = (JSON.parse(line) as { code: { coding: { system: string; code: string }[] } }).code
      .coding[0];
    const token = `${coding.system}|${coding.code}`;
    codeCounts.set(token, (codeCounts.get(token) ?? 0) + 1);
  }
  const codes = [...codeCounts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([token]) => encodeURIComponent(token));
  const patients = (await lines('Patient')).map(
    (l) => JSON.parse(l) as { id: string; name: { family: string }[] },
  );
  const patientIds = patients.map((p) => aggregateIdOf('bench', 'Patient', p.id));
  const families = patients.slice(0, 20).map((p) => encodeURIComponent(p.name[0].family.slice(0, 4)));
  const perPatient = new Map<string, number>();
  for (const name of (await fs.readdir(data.dir)).filter((n) => n.endsWith('.ndjson'))) {
    for (const line of await lines(name.replace('.ndjson', ''))) {
      for (const id of new Set([...line.matchAll(/"reference":"Patient\/([^"]+)"/g)].map((m) => m[1]))) {
        perPatient.set(id, (perPatient.get(id) ?? 0) + 1);
      }
    }
  }
  const [largest, largestCount] = [...perPatient].sort((a, b) => b[1] - a[1])[0];
  const largestId = aggregateIdOf('bench', 'Patient', largest);
  const years = Array.from({ length: 12 }, (_, i) => 2010 + i);

  const origin = await originOf(app);
  const asOf = (u: string) => `${u}${u.includes('?') ? '&' : '?'}_asOf=${encodeURIComponent(middle)}`;
  const searches: [string, (at?: string) => Promise<string[]>][] = [
    ['token Observation?code= (8 codes)', async () => codes.map((c) => `/fhir/Observation?code=${c}`)],
    [
      'date range Encounter?date=ge..&date=lt.. (a year)',
      async () => years.map((y) => `/fhir/Encounter?date=ge${y}-01-01&date=lt${y + 1}-01-01`),
    ],
    [
      'string Patient?name= (4-letter family prefix)',
      async () => families.map((f) => `/fhir/Patient?name=${f}`),
    ],
    [
      'reference Observation?subject=&_include=Observation:encounter',
      async () =>
        patientIds
          .slice(0, 20)
          .map((id) => `/fhir/Observation?subject=Patient/${id}&_include=Observation:encounter`),
    ],
    [
      '_sort Observation?code=&_sort=-date',
      async () => codes.map((c) => `/fhir/Observation?code=${c}&_sort=-date`),
    ],
    [
      'paged Observation?code= page 10 of 20 (via next links)',
      async (at) =>
        Promise.all(
          codes.slice(0, 4).map((c) => {
            const first = `/fhir/Observation?code=${c}&_count=20`;
            return deepPage(origin, at ? asOf(first) : first, 10);
          }),
        ),
    ],
    [
      `Patient/$everything, largest patient (${largestCount} resources), first page`,
      async () => [`/fhir/Patient/${largestId}/$everything`],
    ],
    [
      `Patient/$everything, largest patient, _count=1000`,
      async () => [`/fhir/Patient/${largestId}/$everything?_count=1000`],
    ],
  ];
  record('search: dataset in two ingests; _asOf = between them', {
    firstIngestVersions: phases.versions[0],
    secondIngestVersions: phases.versions[1],
    secondsToQueryable: round(ingestSeconds, 1),
    asOf: middle,
    largestPatientResources: largestCount,
  });
  for (const [label, urlsFor] of searches) {
    const figures: Record<string, number> = {};
    for (const at of [undefined, middle]) {
      // The paged URLs come from next links, which carry the first page's _asOf already.
      const urls = label.startsWith('paged')
        ? await urlsFor(at)
        : (await urlsFor()).map((u) => (at ? asOf(u) : u));
      const prefix = at ? 'asOf ' : '';
      const size = await answerSize(origin, urls[0]);
      figures[`${prefix}entries (first url)`] = size.entries;
      if (size.total !== undefined) figures[`${prefix}total (first url)`] = size.total;
      for (const concurrency of [1, 8]) {
        const started = process.hrtime.bigint();
        const { client: t, server } = await latency(app, urls, concurrency, 500, 1000, 16);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        figures[`${prefix}c${concurrency} p50 ms`] = round(percentile(t, 50), 2);
        figures[`${prefix}c${concurrency} p95 ms`] = round(percentile(t, 95), 2);
        figures[`${prefix}c${concurrency} p99 ms`] = round(percentile(t, 99), 2);
        figures[`${prefix}c${concurrency} server p99 ms`] = round(percentile(server, 99), 2);
        figures[`${prefix}c${concurrency} requests/s`] = Math.round(t.length / seconds);
        figures[`${prefix}c${concurrency} requests timed`] = t.length;
      }
    }
    record(`search: ${label}`, figures);
  }
  await app.close();
  await runtime.close();
}
