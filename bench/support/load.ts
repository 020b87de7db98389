import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { INestApplication } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { kafkaIngestionFor } from '@fa/composition';
import type { EventStoreRuntime } from '@fa/event-store';

/** Load against the service over real HTTP, from a thread of its own, and what the answers hold. */

const LOAD_GENERATOR = path.join(__dirname, 'load-generator.worker.cjs');

/** The app's HTTP origin, listening on a free local port from the first call. */
export async function originOf(app: INestApplication): Promise<string> {
  const server = app.getHttpServer();
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/**
 * Sorted milliseconds of `requests` GETs over `urls` by `concurrency` clients, as the clients saw them and as the
 * server's Server-Timing reported them (its share, without the network, the client and waits for a core); with
 * a budget, stops starting requests after `budgetMs` once `minRequests` have started.
 */
export async function latency(
  app: INestApplication,
  urls: string[],
  concurrency: number,
  requests: number,
  budgetMs = 24 * 3600_000,
  minRequests = 0,
  /** Headers on every request (a bearer token); posts: POST these bodies (each once) instead of GETs of urls. */
  more: {
    headers?: Record<string, string>;
    posts?: { url: string; contentType: string; body: string }[];
  } = {},
): Promise<{ client: number[]; server: number[] }> {
  const base = await originOf(app);
  const worker = new Worker(LOAD_GENERATOR, {
    workerData: { base, urls, concurrency, requests, budgetMs, minRequests, ...more },
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
export async function settle(runtime: EventStoreRuntime): Promise<void> {
  await runtime.database.pool.query('VACUUM (ANALYZE)');
}

/** Follows `next` links from a search to its page `pages` (or the last one); returns that page's path. */
export async function deepPage(origin: string, url: string, pages: number): Promise<string> {
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
export async function answerSize(origin: string, url: string): Promise<{ entries: number; total?: number }> {
  const response = await fetch(origin + url);
  const bundle = (await response.json()) as { entry?: unknown[]; total?: number };
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(bundle)}`);
  return { entries: bundle.entry?.length ?? 0, total: bundle.total };
}

/** A Kafka consumer of the service in this process, on one topic mapped to one source (the bench's defaults). */
export function benchKafkaConsumer(app: INestApplication, brokers: string[], topic: string, source: string) {
  return kafkaIngestionFor(
    app.get(CommandBus),
    {
      kafkaBrokers: brokers,
      kafkaGroupId: topic,
      kafkaTopics: new Map([[topic, source]]),
      kafkaMaxMessageBytes: 16 * 1024 * 1024,
      kafkaSessionTimeoutMs: 30_000,
    },
    { ingestionInstance: topic },
  )!;
}
