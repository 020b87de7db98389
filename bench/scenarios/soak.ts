import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Kafka, logLevel } from 'kafkajs';
import { aggregateIdOf, FileIngestionService } from '@fa/ingestion';
import { startKafkaMock } from '@fa/testkit';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { freshDatabase, openRuntime } from '../support/datasets';
import { benchKafkaConsumer, originOf } from '../support/load';
import { percentile, record } from '../support/results';

export interface SoakOptions {
  /** How long the mixed load runs. */
  seconds: number;
  /** Operations per second of each kind (read, search, $everything, Kafka message). */
  ratePerSecond: number;
}

type SoakFigures = Record<string, number | string>;

/** How often memory is sampled during the run (each sample after a full GC, so it shows what is retained). */
const MEMORY_SAMPLE_MS = 15_000;

/** A full garbage collection without --expose-gc on the command line (V8's flag, set at run time). */
function fullGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

interface MemorySample {
  seconds: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
}

/** SOAK_HEAP_SNAPSHOTS=<dir>: a V8 heap snapshot there after warm-up and at the end, to diff what was retained. */
function heapSnapshot(name: string): void {
  const dir = process.env.SOAK_HEAP_SNAPSHOTS;
  if (dir) v8.writeHeapSnapshot(path.join(dir, `soak-${name}.heapsnapshot`));
}

function memorySample(gc: () => void, startedAt: number): MemorySample {
  gc();
  const usage = process.memoryUsage();
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  return {
    seconds: Math.round((Date.now() - startedAt) / 1000),
    rssMb: mb(usage.rss),
    heapMb: mb(usage.heapUsed),
    externalMb: mb(usage.external + usage.arrayBuffers),
  };
}

/** Least-squares slope of y over x, per minute (x in seconds). */
function slopePerMinute(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? 0 : (sxy / sxx) * 60;
}

/**
 * Soak: reads, searches, $everything and Kafka ingestion together, at a fixed rate each, for a fixed time, on
 * one service (HTTP, projections and the Kafka consumer in this process) over the bench's PostgreSQL and the
 * librdkafka mock broker. Figures: p50/p99 per operation, errors (must be 0: any non-200, any failed send, any
 * published resource not recorded at the end), RSS and open PostgreSQL connections at the start and the end, and
 * every 15 s the heap and RSS after a full GC with their trend over the second half (growth, not warm-up, shows
 * as a steady slope there).
 */
export async function soak(serverUrl: string, fixtureDir: string, options: SoakOptions): Promise<void> {
  const kafkaMock = await startKafkaMock({ topics: ['soak', 'soak.dlq'], partitions: 8 });
  const runtime = await openRuntime(await freshDatabase(serverUrl));
  // Measured without tokens, as before the access checks: the auth scenario measures what they add.
  const app = await createAggregatorApp(runtime, { auth: { enabled: false } });
  await app.init();
  await runtime.runner.start();
  const base = await originOf(app);
  const consumer = benchKafkaConsumer(app, kafkaMock.brokers, 'soak', 'soak-kafka');
  await consumer.start();
  const kafka = new Kafka({ clientId: 'soak', brokers: kafkaMock.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();

  // Data to read: the fixture, through the file source.
  await app.get(FileIngestionService).ingest('soak', [fixtureDir], { ingestionInstance: 'soak' });
  await runtime.runner.waitForCatchUp();
  const lines = async (name: string) =>
    (await fs.readFile(path.join(fixtureDir, name), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string } & Record<string, unknown>);
  const patients = (await lines('Patient.ndjson')).map((p) => aggregateIdOf('soak', 'Patient', p.id));
  const observations = await lines('Observation.ndjson');
  const observationIds = observations.map((o) => aggregateIdOf('soak', 'Observation', o.id));

  const connections = async () =>
    Number(
      (
        await runtime.database.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()`,
        )
      ).rows[0].n,
    );
  const timings: Record<string, number[]> = { read: [], search: [], everything: [], kafka: [] };
  const errors: string[] = [];
  const get = async (operation: string, url: string) => {
    const started = process.hrtime.bigint();
    try {
      const response = await fetch(base + url);
      await response.arrayBuffer();
      if (response.status !== 200) errors.push(`${operation} ${response.status}`);
    } catch (error) {
      errors.push(`${operation} ${(error as Error).message}`);
    }
    timings[operation].push(Number(process.hrtime.bigint() - started) / 1e6);
  };
  let published = 0;
  const publish = async (i: number) => {
    const template = observations[i % observations.length];
    const id = `soak-${i}`;
    const started = process.hrtime.bigint();
    try {
      await producer.send({
        topic: 'soak',
        acks: -1,
        messages: [{ key: `Observation/${id}`, value: JSON.stringify({ ...template, id }) }],
      });
      published++;
    } catch (error) {
      errors.push(`kafka ${(error as Error).message}`);
    }
    timings.kafka.push(Number(process.hrtime.bigint() - started) / 1e6);
  };

  // Warm up a little, then measure from a settled start.
  for (let i = 0; i < 20; i++) await get('read', `/fhir/Patient/${patients[i % patients.length]}`);
  for (const list of Object.values(timings)) list.length = 0;
  const gc = fullGc();
  const memoryStartedAt = Date.now();
  const samples: MemorySample[] = [memorySample(gc, memoryStartedAt)];
  const rssStart = process.memoryUsage().rss;
  const connectionsStart = await connections();

  const interval = 1000 / options.ratePerSecond;
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const started = Date.now();
  let tick = 0;
  let maxInFlight = 0;
  while (Date.now() - started < options.seconds * 1000) {
    const i = tick++;
    track(get('read', `/fhir/Observation/${observationIds[i % observationIds.length]}`));
    track(
      get(
        'search',
        `/fhir/Observation?subject=Patient/${patients[i % patients.length]}&_count=20&_sort=-date`,
      ),
    );
    track(get('everything', `/fhir/Patient/${patients[i % patients.length]}/$everything?_count=50`));
    track(publish(i));
    maxInFlight = Math.max(maxInFlight, inFlight.size);
    if (Date.now() - memoryStartedAt >= samples.length * MEMORY_SAMPLE_MS) {
      samples.push(memorySample(gc, memoryStartedAt));
      // Warm-up is over by the fourth sample (the heap's climb stops there in every run so far).
      if (samples.length === 4) heapSnapshot('warm');
    }
    // Fixed rate: the next tick is due at started + tick * interval, however long this one's requests take.
    const due = started + tick * interval;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
  }
  await Promise.all(inFlight);
  const elapsed = (Date.now() - started) / 1000;

  // Every published resource recorded (the partition may lag a little behind the last send).
  const recorded = async () =>
    Number(
      (
        await runtime.database.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM events WHERE type = 'ResourceVersionRecorded' AND metadata->>'source' = 'soak-kafka'`,
        )
      ).rows[0].n,
    );
  const deadline = Date.now() + 60_000;
  while ((await recorded()) < published && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  const recordedCount = await recorded();
  if (recordedCount !== published) errors.push(`kafka: ${published} published, ${recordedCount} recorded`);
  await runtime.runner.waitForCatchUp();
  samples.push(memorySample(gc, memoryStartedAt));
  heapSnapshot('end');
  const rssEnd = process.memoryUsage().rss;
  const connectionsEnd = await connections();

  await producer.disconnect();
  await consumer.stop();
  await app.close();
  await runtime.close();
  await kafkaMock.stop();

  const figures: SoakFigures = {
    seconds: Math.round(elapsed),
    'rate per operation /s': options.ratePerSecond,
    maxInFlight,
    errors: errors.length,
    ...(errors.length > 0 ? { firstErrors: errors.slice(0, 5).join(' | ') } : {}),
    kafkaRecorded: recordedCount,
  };
  for (const [operation, values] of Object.entries(timings)) {
    const sorted = values.sort((a, b) => a - b);
    figures[`${operation} count`] = sorted.length;
    figures[`${operation} p50 ms`] = Number((percentile(sorted, 50) ?? 0).toFixed(1));
    figures[`${operation} p99 ms`] = Number((percentile(sorted, 99) ?? 0).toFixed(1));
  }
  figures['rss start MB'] = Math.round(rssStart / 1024 / 1024);
  figures['rss end MB'] = Math.round(rssEnd / 1024 / 1024);
  // Growth or warm-up: the retained heap (after a full GC) over time, and its trend in the second half.
  const secondHalf = samples.filter((s) => s.seconds >= elapsed / 2);
  figures['heap after gc MB (every 15 s)'] = samples.map((s) => s.heapMb).join(' ');
  figures['rss after gc MB (every 15 s)'] = samples.map((s) => s.rssMb).join(' ');
  figures['external+arrayBuffers MB start/end'] =
    `${samples[0].externalMb}/${samples[samples.length - 1].externalMb}`;
  figures['heap after gc trend, 2nd half MB/min'] = Number(
    slopePerMinute(secondHalf.map((s) => ({ x: s.seconds, y: s.heapMb }))).toFixed(2),
  );
  figures['rss trend, 2nd half MB/min'] = Number(
    slopePerMinute(secondHalf.map((s) => ({ x: s.seconds, y: s.rssMb }))).toFixed(2),
  );
  figures['pg connections start'] = connectionsStart;
  figures['pg connections end'] = connectionsEnd;
  record(
    'soak: reads, searches, $everything and Kafka ingestion together at a fixed rate (one service process)',
    figures,
  );
}
