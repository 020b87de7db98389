import 'reflect-metadata';
import { createReadStream, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import { INestApplication } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Command } from 'commander';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EventStoreRuntime } from '@fa/event-store';
import { IDENTITY_LINKS_PROJECTION, seededRandom } from '@fa/patient-identity';
import { FHIR_STORE_PROJECTION } from '@fa/fhir-store';
import {
  aggregateIdOf,
  FileIngestionService,
  IngestResourceVersionsCommand,
  KafkaIngestionConsumer,
  publishFiles,
} from '@fa/ingestion';
import { ensureEmbeddedPostgres } from '@fa/platform';
import { createAggregatorApp } from '../apps/aggregator/src';
import { openAggregatorRuntime } from '@fa/composition';
import { createEmptyDatabase, startKafkaMock } from '@fa/testkit';
import { identityThroughPipeline, SPLINK_FEBRL3_F1 } from './identity-pipeline';

/**
 * Benchmarks (never tests): each prints figures with a baseline measured in the same run, as a table and as
 * JSON lines appended to bench/results/results.jsonl. Run: npm run bench -- [--scenarios a,b] [--scale n].
 */
const REPO = path.resolve(__dirname, '..');
const RESULTS = path.join(REPO, 'bench', 'results', 'results.jsonl');
const results: Record<string, unknown>[] = [];

function record(scenario: string, figures: Record<string, number | string>) {
  const row = {
    scenario,
    at: new Date().toISOString(),
    host: os.hostname(),
    cpus: os.cpus().length,
    ...figures,
  };
  results.push(row);
  console.log(`\n${scenario}`);
  for (const [key, value] of Object.entries(figures)) console.log(`  ${key.padEnd(34)} ${value}`);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/** A fresh database on the bench's embedded PostgreSQL (or BENCH_DATABASE_URL's server). */
const freshDatabase = async (serverUrl: string) => (await createEmptyDatabase(serverUrl, 'bench')).url;

/**
 * Writes `scale` copies of the dataset as NDJSON files: the same shape, fresh ids (references follow), and each
 * copy's dates (YYYY-MM-DD, with or without a time) shifted by its own whole number of days, up to ten years
 * back, drawn from `seed`: deterministic, and copies are distinct patients' histories rather than clones.
 */
async function scaledCopy(
  dataDir: string,
  scale: number,
  seed = 1,
): Promise<{ dir: string; resources: number; bytes: number }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `fa-bench-x${scale}-`));
  const random = seededRandom(seed);
  const shiftDays = Array.from({ length: scale }, (_, copy) =>
    copy === 0 ? 0 : -Math.floor(random() * 3650),
  );
  let resources = 0;
  let bytes = 0;
  for (const name of (await fs.readdir(dataDir)).filter((n) => /\.ndjson(\.gz)?$/.test(n))) {
    const chunks: Buffer[] = [];
    const input = createReadStream(path.join(dataDir, name));
    await pipeline(
      name.endsWith('.gz') ? input.pipe(createGunzip()) : input,
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) chunks.push(chunk);
      },
    );
    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim());
    // One copy at a time straight to the file: at 100x a file's text would pass V8's longest string.
    const file = await fs.open(path.join(dir, name.replace(/\.gz$/, '')), 'w');
    try {
      for (let copy = 0; copy < scale; copy++) {
        const suffix = copy === 0 ? '' : `-x${copy}`;
        const text =
          lines
            .map((line) =>
              suffix
                ? shiftDates(
                    line
                      .replace(/"id":"([^"]+)"/, `"id":"$1${suffix}"`)
                      .replace(/"reference":"([A-Z][A-Za-z]+)\/([^"/?]+)"/g, `"reference":"$1/$2${suffix}"`),
                    shiftDays[copy],
                  )
                : line,
            )
            .join('\n') + '\n';
        await file.write(text);
        resources += lines.length;
        bytes += Buffer.byteLength(text);
      }
    } finally {
      await file.close();
    }
  }
  return { dir, resources, bytes };
}

/** Every JSON string value starting with a full date (YYYY-MM-DD), moved by `days`; the rest of it is kept. */
function shiftDates(line: string, days: number): string {
  return line.replace(/"(\d{4})-(\d{2})-(\d{2})(?=[T"])/g, (_, year: string, month: string, day: string) => {
    const shifted = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)) + days * 86_400_000);
    return `"${shifted.toISOString().slice(0, 10)}`;
  });
}

async function openRuntime(url: string): Promise<EventStoreRuntime> {
  return openAggregatorRuntime({ databaseUrl: url, dataDir: '' }, { poolSize: 12, idleDelayMs: 10 });
}

/** Bare ceiling: COPY rows of the same sizes into a table with only a primary key. */
async function ceiling(serverUrl: string, data: { dir: string; resources: number }): Promise<number> {
  const url = await freshDatabase(serverUrl);
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(
    'CREATE TABLE bare (id bigserial PRIMARY KEY, stream_id text, data jsonb, metadata jsonb)',
  );
  const metadata = JSON.stringify({
    source: 'bench',
    origin: { file: { path: data.dir, line: 1 } },
    contentHash: 'x'.repeat(64),
  });
  const rows: string[] = [];
  for (const name of await fs.readdir(data.dir)) {
    for (const line of (await fs.readFile(path.join(data.dir, name), 'utf8')).split('\n')) {
      if (line.trim()) rows.push(`s-${rows.length}\t${line.replace(/\\/g, '\\\\')}\t${metadata}\n`);
    }
  }
  const started = process.hrtime.bigint();
  await pipeline(
    Readable.from(rows),
    client.query(copyFrom('COPY bare (stream_id, data, metadata) FROM STDIN')),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.end();
  const rate = rows.length / seconds;
  record('ceiling: COPY into a bare table (primary key only)', {
    rows: rows.length,
    seconds: round(seconds, 2),
    rowsPerSecond: Math.round(rate),
  });
  return rate;
}

/** The service with ROLES=kafka in its own process, as `ROLES=kafka npm start` runs it. */
async function startConsumerProcess(databaseUrl: string, brokers: string[]) {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/aggregator/src/main.ts'], {
    cwd: REPO,
    env: {
      ...process.env,
      ROLES: 'kafka',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPICS: 'bench=bench',
      KAFKA_GROUP_ID: 'bench',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let peak = 0;
  const readPeak = () => {
    // VmHWM: the process's peak resident set so far.
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    peak = Math.max(peak, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
  };
  return {
    start: async () => {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          if (out.includes('fhir-aggregator started')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`consumer process exited (${code}): ${out}`)));
      });
    },
    stop: async () => {
      readPeak();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
    peakRssBytes: () => {
      readPeak();
      return peak;
    },
  };
}

/** `cli ingest` as a user runs it; returns what its summary reports. */
async function runCliIngest(
  databaseUrl: string,
  dir: string,
): Promise<{ recorded: number; appendPerSecond: number }> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', 'apps/cli/src/main.ts', 'ingest', '--source', 'bench', dir],
    { cwd: REPO, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const recorded = /recorded\s+(\d+)/.exec(out);
  const rate = /throughput (\d+) resources\/s \(append\)/.exec(out);
  if (code !== 0 || !recorded || !rate) throw new Error(`cli ingest failed (${code}): ${out}\n${err}`);
  return { recorded: Number(recorded[1]), appendPerSecond: Number(rate[1]) };
}

async function ingestFile(
  serverUrl: string,
  data: { dir: string; resources: number; bytes: number },
  ceilingRate: number,
  label: string,
) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  // As deployed: `npm run cli -- ingest` in its own process appends while the service's projections follow
  // the log (this process plays the service). The clock starts when the CLI is launched.
  const context = await createAggregatorApp(runtime);
  await context.init();
  await runtime.runner.start();
  const started = process.hrtime.bigint();
  const cli = await runCliIngest(url, data.dir);
  await runtime.runner.waitForCatchUp(60 * 60_000);
  const queryable = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = { recorded: cli.recorded };
  record(`ingest-file ${label}: cli ingest process while the service's projections follow`, {
    resources: summary.recorded,
    appendResourcesPerSecond: cli.appendPerSecond,
    endToEndResourcesPerSecond: Math.round(summary.recorded / queryable),
    mbPerSecond: round(data.bytes / 1024 / 1024 / queryable, 2),
    ratioToCopyCeiling: round(summary.recorded / queryable / ceilingRate, 3),
    secondsToQueryable: round(queryable, 1),
  });
  await context.close();
  await runtime.close();
}

/**
 * Kafka to queryable. `split`: the consumer runs as its own service process (ROLES=kafka) and this process
 * is the one with ROLES=api,projections; otherwise one process has every role.
 */
async function ingestKafka(
  serverUrl: string,
  data: { dir: string; resources: number; bytes: number },
  ceilingRate: number,
  split: boolean,
) {
  const kafka = await startKafkaMock({ topics: ['bench'], partitions: 32 });
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  const app = await createAggregatorApp(runtime);
  await app.init();
  await runtime.runner.start();
  const consumer = split
    ? await startConsumerProcess(url, kafka.brokers)
    : new KafkaIngestionConsumer(app.get(CommandBus), {
        brokers: kafka.brokers,
        groupId: 'bench',
        topics: new Map([['bench', 'bench']]),
        maxMessageBytes: 16 * 1024 * 1024,
        ingestionInstance: 'bench',
      });
  await consumer.start();
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  const started = process.hrtime.bigint();
  const lagsMeasured = publishToQueryableLags(runtime, data.resources);
  await publishFiles({ brokers: kafka.brokers, topic: 'bench', source: 'bench', inputs: [data.dir] });
  const published = Number(process.hrtime.bigint() - started) / 1e9;
  const lags = await lagsMeasured;
  await runtime.runner.waitForCatchUp();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(rssTimer);
  const consumerPeakRss = 'peakRssBytes' in consumer ? consumer.peakRssBytes() : 0;
  record(
    split
      ? 'ingest-kafka split: a ROLES=kafka process consumes, this one (api, projections) follows the log'
      : 'ingest-kafka: publish to Kafka until every resource is queryable (publisher, broker, service, PostgreSQL on one machine)',
    {
      resources: data.resources,
      publishSeconds: round(published, 1),
      secondsToQueryable: round(seconds, 1),
      resourcesPerSecond: Math.round(data.resources / seconds),
      mbPerSecond: round(data.bytes / 1024 / 1024 / seconds, 2),
      ratioToCopyCeiling: round(data.resources / seconds / ceilingRate, 3),
      'lag publish to queryable p50 ms': Math.round(percentile(lags, 50)),
      'lag publish to queryable p99 ms': Math.round(percentile(lags, 99)),
      'lag publish to queryable max ms': Math.round(lags[lags.length - 1]),
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      ...(split ? { consumerProcessPeakRssMb: Math.round(consumerPeakRss / 1024 / 1024) } : {}),
    },
  );
  await consumer.stop();
  await app.close();
  await runtime.close();
  await kafka.stop();
}

/**
 * Per resource, sorted: milliseconds from its Kafka message's timestamp (set by the producer when it sent it)
 * to the first poll, every 50 ms, that found it applied by the fhir-store projection, i.e. readable and
 * searchable. Returns once `expected` resources are.
 */
async function publishToQueryableLags(runtime: EventStoreRuntime, expected: number): Promise<number[]> {
  const pool = runtime.database.pool;
  const lags: number[] = [];
  let seen = '';
  while (lags.length < expected) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const checkpoint = (
      await pool.query<{ position: string }>(
        `SELECT c.position FROM projections p
           JOIN checkpoints c ON c.projection = p.name AND c.generation = p.active_generation
          WHERE p.name = 'fhir-store'`,
      )
    ).rows[0].position;
    const now = Date.now();
    if (checkpoint === seen) continue;
    const [fromTx, fromGp] = seen ? seen.split(':') : ['0', '0'];
    const [toTx, toGp] = checkpoint.split(':');
    const applied = await pool.query<{ sent: string }>(
      `SELECT metadata->'origin'->'kafka'->>'timestamp' AS sent FROM events
        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
          AND (transaction_id, global_position) <= ($3::xid8, $4::bigint)
          AND type = 'ResourceVersionRecorded'`,
      [fromTx, fromGp, toTx, toGp],
    );
    for (const row of applied.rows) if (row.sent) lags.push(now - Date.parse(row.sent));
    seen = checkpoint;
  }
  return lags.sort((a, b) => a - b);
}

/** The app's HTTP origin, listening on a free local port from the first call. */
async function originOf(app: INestApplication): Promise<string> {
  const server = app.getHttpServer();
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/**
 * The load generator, in its own thread: clients in the server's event loop would queue their own work (fetch,
 * body reads, timers) between the server's, and their pauses would count as the server's latency.
 */
const LOAD_GENERATOR = `
const { parentPort, workerData } = require('node:worker_threads');
const { base, urls, concurrency, requests, budgetMs, minRequests } = workerData;
const deadline = Date.now() + budgetMs;
const timings = [];
const server = [];
let next = 0;
Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests && (next < minRequests || Date.now() < deadline)) {
      const url = urls[next++ % urls.length];
      const started = process.hrtime.bigint();
      const response = await fetch(base + url);
      const body = await response.arrayBuffer();
      if (response.status !== 200) {
        throw new Error(url + ': ' + response.status + ' ' + Buffer.from(body).toString('utf8').slice(0, 300));
      }
      timings.push(Number(process.hrtime.bigint() - started) / 1e6);
      const timing = /app;dur=([\\d.]+)/.exec(response.headers.get('server-timing') || '');
      if (timing) server.push(Number(timing[1]));
    }
  }),
).then(
  () => parentPort.postMessage({ timings, server }),
  (error) => parentPort.postMessage({ error: String(error) }),
);
`;

/**
 * Sorted milliseconds of `requests` GETs over `urls` by `concurrency` clients, as the clients saw them and as the
 * server's Server-Timing reported them (its share, without the network, the client and waits for a core); with
 * a budget, stops starting requests after `budgetMs` once `minRequests` have started.
 */
async function latency(
  app: INestApplication,
  urls: string[],
  concurrency: number,
  requests: number,
  budgetMs = 24 * 3600_000,
  minRequests = 0,
): Promise<{ client: number[]; server: number[] }> {
  const base = await originOf(app);
  const worker = new Worker(LOAD_GENERATOR, {
    eval: true,
    workerData: { base, urls, concurrency, requests, budgetMs, minRequests },
  });
  const result = await new Promise<{ timings: number[]; server: number[] } | { error: string }>(
    (resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    },
  );
  await worker.terminate();
  if ('error' in result) throw new Error(result.error);
  const sorted = (values: number[]) => values.sort((a, b) => a - b);
  return { client: sorted(result.timings), server: sorted(result.server) };
}

/**
 * Latencies are of a settled store: the maintenance a bulk load leaves behind (autovacuum of every table just
 * written) is done first instead of competing with the timed requests for the two cores.
 */
async function settle(runtime: EventStoreRuntime): Promise<void> {
  await runtime.database.pool.query('VACUUM (ANALYZE)');
}

const REPLAYED = [FHIR_STORE_PROJECTION, IDENTITY_LINKS_PROJECTION];

async function readsAndReplay(serverUrl: string, data: { dir: string; resources: number }) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  const app = await createAggregatorApp(runtime);
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
  const events = Number(
    (await runtime.database.pool.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0].n,
  );
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

/**
 * The dataset in two ingests for searches at a point in time: the first holds every patient and directory resource
 * (Practitioner, Organization, ...) and every other line of each clinical file (the files run patient by patient, so
 * every patient has about half of its records in each); the second the other lines, a new version of every patient
 * and a new version of every 4th clinical resource of the first.
 */
async function twoPhases(
  dataDir: string,
): Promise<{ first: string; second: string; versions: [number, number] }> {
  const first = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bench-phase1-'));
  const second = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bench-phase2-'));
  const directory = new Set(['Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'Location']);
  const changed = (line: string) => {
    const resource = JSON.parse(line) as Record<string, unknown>;
    const extension = [
      ...((resource.extension as unknown[]) ?? []),
      { url: 'http://example.org/bench-phase', valueInteger: 2 },
    ];
    return JSON.stringify({ ...resource, extension });
  };
  const versions: [number, number] = [0, 0];
  for (const name of (await fs.readdir(dataDir)).filter((n) => n.endsWith('.ndjson'))) {
    const lines = (await fs.readFile(path.join(dataDir, name), 'utf8')).split('\n').filter((l) => l.trim());
    const type = name.replace('.ndjson', '');
    const early = directory.has(type) ? lines : lines.filter((_, i) => i % 2 === 0);
    const late = [
      ...(directory.has(type) ? [] : lines.filter((_, i) => i % 2 === 1)),
      ...early
        .filter((_, i) => (type === 'Patient' ? true : !directory.has(type) && i % 4 === 0))
        .map(changed),
    ];
    await fs.writeFile(path.join(first, name), early.join('\n') + '\n');
    if (late.length > 0) await fs.writeFile(path.join(second, name), late.join('\n') + '\n');
    versions[0] += early.length;
    versions[1] += late.length;
  }
  return { first, second, versions };
}

/** Follows `next` links from a search to its page `pages` (or the last one); returns that page's path. */
async function deepPage(origin: string, url: string, pages: number): Promise<string> {
  let current = url;
  for (let page = 1; page < pages; page++) {
    const response = await fetch(origin + current);
    const bundle = (await response.json()) as { link?: { relation: string; url: string }[] };
    if (response.status !== 200) throw new Error(`${current}: ${response.status} ${JSON.stringify(bundle)}`);
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) break;
    current = next.replace(/^https?:\/\/[^/]+/, '');
  }
  return current;
}

/** Entries in the answer to one GET (what a measured request returns), and its total when it has one. */
async function answerSize(origin: string, url: string): Promise<{ entries: number; total?: number }> {
  const response = await fetch(origin + url);
  const bundle = (await response.json()) as { entry?: unknown[]; total?: number };
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(bundle)}`);
  return { entries: bundle.entry?.length ?? 0, total: bundle.total };
}

async function search(serverUrl: string, data: { dir: string; resources: number }) {
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

async function main() {
  const program = new Command('bench')
    .option(
      '--scenarios <list>',
      'ceiling,ingest-file,ingest-kafka,reads,search,identity (reads includes replay)',
      'ceiling,ingest-file,ingest-kafka,reads,search,identity',
    )
    .option('--scale <list>', 'dataset multiples for ingest-file, e.g. 1,10', '1')
    .option('--seed <n>', 'seed of the date shifts of scaled copies', '1')
    .option('--data <dir>', 'NDJSON dataset', path.resolve(REPO, '..', 'shared', 'data', 'synthea-79'))
    .parse(process.argv);
  const options = program.opts<{ scenarios: string; scale: string; seed: string; data: string }>();
  const scenarios = new Set(options.scenarios.split(','));
  const scales = options.scale.split(',').map(Number);
  const serverUrl =
    process.env.BENCH_DATABASE_URL ??
    (await ensureEmbeddedPostgres(path.join(REPO, '.bench-data'))).connectionString;
  const base = await scaledCopy(options.data, 1);
  console.log(
    `dataset ${options.data}: ${base.resources} resources, ${round(base.bytes / 1024 / 1024)} MB uncompressed`,
  );
  const ceilingRate = await ceiling(serverUrl, base);
  if (scenarios.has('ingest-file')) {
    for (const scale of scales) {
      const data = scale === 1 ? base : await scaledCopy(options.data, scale, Number(options.seed));
      await ingestFile(serverUrl, data, ceilingRate, `${scale}x`);
    }
  }
  if (scenarios.has('ingest-kafka')) {
    await ingestKafka(serverUrl, base, ceilingRate, false);
    await ingestKafka(serverUrl, base, ceilingRate, true);
  }
  if (scenarios.has('reads')) await readsAndReplay(serverUrl, base);
  if (scenarios.has('search')) await search(serverUrl, base);
  if (scenarios.has('identity')) {
    for (const row of await identityThroughPipeline(() => freshDatabase(serverUrl))) {
      const { dataset, ...figures } = row;
      record(`identity ${dataset}`, {
        ...Object.fromEntries(
          Object.entries(figures).map(([k, v]) => [k, round(v, k.endsWith('PerSecond') ? 0 : 4)]),
        ),
        ...(dataset === 'febrl3' ? { splinkBatchF1: SPLINK_FEBRL3_F1 } : {}),
      });
    }
  }
  await fs.mkdir(path.dirname(RESULTS), { recursive: true });
  await fs.appendFile(RESULTS, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`\nappended ${results.length} result rows to ${path.relative(REPO, RESULTS)}`);
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
