import type { CommandBus } from '@nestjs/cqrs';
import { describeFailure, sqlStateOf } from '@fa/platform';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage, logLevel, Producer } from 'kafkajs';
import type { IngestSummary } from '../../commands/ingest-resource-versions/ingest-resource-versions.command';
import type { SourceRecord } from '../../domain/source-record';
import { ingestionMetrics } from '../../ingestion.metrics';
import { AppendCoalescer } from './append-coalescer';
import { decodeKafkaMessage, DecodedKafkaMessage } from './decode-kafka-message';
import { appendIsolatingPermanentFailures } from './isolate-permanent-failure';
import { deadLetterHeaders, dlqTopicOf } from './kafka-message';

export interface KafkaIngestionOptions {
  brokers: string[];
  groupId: string;
  /** Topic → configured source (undefined: the `source` header decides). */
  topics: Map<string, string | undefined>;
  maxMessageBytes: number;
  ingestionInstance: string;
  sessionTimeoutMs?: number;
  /** Partitions whose batches are appended at the same time. */
  partitionsConcurrently?: number;
  /** Messages decided and appended per transaction. */
  chunkSize?: number;
  logger?: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
  };
}

function bySourceOf(messages: DecodedKafkaMessage[]): Map<string, SourceRecord[]> {
  const bySource = new Map<string, SourceRecord[]>();
  for (const message of messages) {
    const list = bySource.get(message.source) ?? [];
    list.push(...message.records);
    bySource.set(message.source, list);
  }
  return bySource;
}

const MAX_BACKOFF_MS = 10_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class StoppedWhileRetrying extends Error {}

/**
 * Consumes source topics into the IngestResourceVersions command. Offsets are committed only after the events
 * of the messages before them are durably appended (and their dead letters published), so a crash or rebalance
 * redelivers at most the uncommitted tail — which records nothing new, since appends are idempotent.
 */
export class KafkaIngestionConsumer {
  private readonly kafka: Kafka;
  private readonly coalescer: AppendCoalescer;
  private consumer?: Consumer;
  private producer?: Producer;
  private assignment: Record<string, number[]> = {};

  constructor(
    private readonly commandBus: CommandBus,
    private readonly options: KafkaIngestionOptions,
  ) {
    this.kafka = new Kafka({
      clientId: `fhir-aggregator-${options.ingestionInstance}`,
      brokers: options.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: MAX_BACKOFF_MS },
    });
    this.coalescer = new AppendCoalescer(commandBus, options.ingestionInstance, {
      maxRecords: options.chunkSize ?? 1000,
      lingerMs: 5,
    });
  }

  async start(): Promise<void> {
    this.producer = this.kafka.producer({ allowAutoTopicCreation: true });
    await this.producer.connect();
    this.consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      // Bounded memory whatever the topic size: at most this much fetched and undecided at once.
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 3_000,
    });
    // Each (re)join of the group says which partitions this member now holds.
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assignment = payload.memberAssignment;
      this.options.logger?.info(
        { groupId: this.options.groupId, partitions: Object.values(this.assignment).flat().length },
        'kafka group joined',
      );
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics.keys()], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Versions of one resource share a partition (producers key by <Type>/<id>), so partitions may overlap.
      partitionsConsumedConcurrently: this.options.partitionsConcurrently ?? 8,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.options.logger?.info(
      { topics: [...this.options.topics.keys()], groupId: this.options.groupId },
      'kafka ingestion started',
    );
  }

  /** The partitions this member was given at its last join of the group, by topic. */
  assignedPartitions(): Record<string, number[]> {
    return this.assignment;
  }

  /** Finishes the chunk in flight (its offsets are committed) and leaves the group. */
  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const chunkSize = this.options.chunkSize ?? 1000;
    ingestionMetrics.consumerLag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Number(batch.offsetLag()),
    );
    for (let start = 0; start < batch.messages.length; start += chunkSize) {
      if (!payload.isRunning() || payload.isStale()) return;
      const chunk = batch.messages.slice(start, start + chunkSize);
      try {
        await this.ingestChunk(batch.topic, batch.partition, chunk, payload);
      } catch (error) {
        if (error instanceof StoppedWhileRetrying) return;
        throw error;
      }
      const last = chunk[chunk.length - 1].offset;
      payload.resolveOffset(last);
      await this.consumer!.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
      ]);
      await payload.heartbeat();
    }
  }

  private async ingestChunk(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    payload: EachBatchPayload,
  ) {
    const decoded = messages.map((message) =>
      decodeKafkaMessage(topic, partition, message, {
        topicSource: this.options.topics.get(topic),
        maxMessageBytes: this.options.maxMessageBytes,
      }),
    );
    // Rejections come back from the command (decoding and validation alike), each with its message's offset.
    let rejected: IngestSummary['rejected'] = [];
    await this.withRetry('append', payload, async () => {
      const timer = ingestionMetrics.appendSeconds.startTimer();
      // A permanent failure (see classifyFailure) is narrowed down to the message that causes it, which is
      // rejected as store-rejected; a transient one is thrown and retried here, whole.
      const summaries = await appendIsolatingPermanentFailures(decoded, {
        append: (list, whole) =>
          whole ? this.coalescer.submit(bySourceOf(list)) : this.coalescer.appendNow(bySourceOf(list)),
        reject: (message, error) =>
          this.coalescer.appendNow(
            new Map([
              [
                message.source,
                [
                  {
                    kind: 'rejected',
                    code: 'store-rejected',
                    reason: `the event store refused this message's records for good: ${describeFailure(error)}`,
                    origin: message.origin,
                  },
                ],
              ],
            ]),
          ),
        onSplit: (size, error) =>
          this.options.logger?.warn(
            { topic, partition, messages: size, code: sqlStateOf(error) },
            'permanent append failure; splitting the chunk to find the message that causes it',
          ),
      });
      timer();
      // The merged append covered other partitions too: count and dead-letter only this chunk's records.
      const mine = (r: IngestSummary['rejected'][number]) =>
        r.origin.kafka?.topic === topic && r.origin.kafka.partition === partition;
      rejected = summaries.flatMap((bySource) =>
        [...bySource.values()].flatMap((summary) => summary.rejected.filter(mine)),
      );
    });
    const byOffset = new Map<string, IngestSummary['rejected']>();
    for (const r of rejected) {
      const offset = r.origin.kafka?.offset;
      if (offset === undefined) continue;
      byOffset.set(offset, [...(byOffset.get(offset) ?? []), r]);
    }
    const deadLetters = messages.flatMap((message) => {
      const rejections = byOffset.get(message.offset);
      return rejections ? [{ message, rejections }] : [];
    });
    if (deadLetters.length === 0) return;
    await this.withRetry('dead-letter', payload, async () => {
      await this.producer!.send({
        topic: dlqTopicOf(topic),
        acks: -1,
        messages: deadLetters.map(({ message, rejections }) => ({
          key: message.key,
          value: message.value,
          timestamp: message.timestamp,
          headers: {
            ...(message.headers ?? {}),
            ...deadLetterHeaders(rejections),
            'dlq-original-topic': topic,
            'dlq-original-partition': String(partition),
            'dlq-original-offset': message.offset,
          },
        })) as never,
      });
      ingestionMetrics.deadLetters.inc({ topic: dlqTopicOf(topic) }, deadLetters.length);
    });
  }

  /**
   * Retries until it works, with exponential backoff and full jitter, heartbeating so the group keeps this
   * member; gives up (without committing) only when the consumer stops or loses the partition.
   */
  private async withRetry(
    operation: string,
    payload: EachBatchPayload,
    action: () => Promise<void>,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await action();
        return;
      } catch (error) {
        ingestionMetrics.retries.inc({ operation });
        const delay = Math.random() * Math.min(MAX_BACKOFF_MS, 200 * 2 ** attempt);
        this.options.logger?.warn(
          {
            operation,
            attempt,
            delayMs: Math.round(delay),
            err: error instanceof Error ? error.name : 'unknown',
            code: (error as { code?: string }).code,
          },
          'ingestion step failed; retrying',
        );
        const until = Date.now() + delay;
        while (Date.now() < until) {
          if (!payload.isRunning() || payload.isStale()) throw new StoppedWhileRetrying();
          await sleep(Math.min(1000, Math.max(0, until - Date.now())));
          await payload.heartbeat().catch(() => undefined);
        }
      }
    }
  }
}
