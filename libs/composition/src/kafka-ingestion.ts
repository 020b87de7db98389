import * as os from 'node:os';
import type { CommandBus } from '@nestjs/cqrs';
import { KafkaIngestionConsumer } from '@fa/ingestion';
import type { AppConfig } from '@fa/platform';

type ConsumerOptions = ConstructorParameters<typeof KafkaIngestionConsumer>[1];

/** The Kafka consumer of KAFKA_BROKERS / KAFKA_TOPICS / KAFKA_GROUP_ID, or undefined when Kafka is off. */
export function kafkaIngestionFor(
  commandBus: CommandBus,
  config: Pick<
    AppConfig,
    'kafkaBrokers' | 'kafkaGroupId' | 'kafkaTopics' | 'kafkaMaxMessageBytes' | 'kafkaSessionTimeoutMs'
  >,
  overrides: Partial<ConsumerOptions> = {},
): KafkaIngestionConsumer | undefined {
  if (config.kafkaBrokers.length === 0 && !overrides.brokers?.length) return undefined;
  return new KafkaIngestionConsumer(commandBus, {
    brokers: config.kafkaBrokers,
    groupId: config.kafkaGroupId,
    topics: config.kafkaTopics,
    maxMessageBytes: config.kafkaMaxMessageBytes,
    sessionTimeoutMs: config.kafkaSessionTimeoutMs,
    ingestionInstance: `${os.hostname()}:${process.pid}`,
    ...overrides,
  });
}
