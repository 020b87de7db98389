import { EventStoreRuntime, START_OF_LOG } from '@fa/event-store';
import { FHIR_STORE_PROJECTION } from '@fa/fhir-store';
import { isResourceVersionRecorded, publishFiles } from '@fa/ingestion';
import { startKafkaMock } from '@fa/testkit';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { Dataset, freshDatabase, openRuntime } from '../support/datasets';
import { startConsumerProcess } from '../support/processes';
import { benchKafkaConsumer } from '../support/load';
import { percentile, record, round } from '../support/results';

/**
 * Kafka to queryable. `split`: the consumer runs as its own service process (ROLES=kafka) and this process
 * is the one with ROLES=api,projections; otherwise one process has every role.
 */
export async function ingestKafka(serverUrl: string, data: Dataset, ceilingRate: number, split: boolean) {
  const kafka = await startKafkaMock({ topics: ['bench'], partitions: 32 });
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  const app = await createAggregatorApp(runtime);
  await app.init();
  await runtime.runner.start();
  const consumer = split
    ? await startConsumerProcess(url, kafka.brokers)
    : benchKafkaConsumer(app, kafka.brokers, 'bench', 'bench');
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
export async function publishToQueryableLags(
  runtime: EventStoreRuntime,
  expected: number,
): Promise<number[]> {
  const { store } = runtime;
  const lags: number[] = [];
  let seen = START_OF_LOG;
  while (lags.length < expected) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const checkpoint = (
      await runtime.database.pool.query<{ position: string }>(
        `SELECT c.position FROM projections p
           JOIN checkpoints c ON c.projection = p.name AND c.generation = p.active_generation
          WHERE p.name = $1`,
        [FHIR_STORE_PROJECTION],
      )
    ).rows[0].position;
    const now = Date.now();
    // The events applied since the last poll, read through the event-store port up to the checkpoint.
    while (store.comparePositions(seen, checkpoint) < 0) {
      const window = await store.readAll({ after: seen, maxCount: 1000 });
      if (window.scanned === 0) break;
      for (const event of window.events) {
        if (store.comparePositions(event.position, checkpoint) > 0) break;
        const sent = isResourceVersionRecorded(event) ? event.metadata.origin.kafka?.timestamp : undefined;
        if (sent) lags.push(now - Date.parse(sent));
      }
      seen = store.comparePositions(window.lastPosition, checkpoint) < 0 ? window.lastPosition : checkpoint;
    }
  }
  return lags.sort((a, b) => a - b);
}
