import { CommandBus } from '@nestjs/cqrs';
import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import { stringifyFhirJson } from '@fa/fhir';
import {
  HEADER_BULK_EXPORT,
  HEADER_CONTENT_TYPE,
  HEADER_CORRELATION_ID,
  HEADER_SOURCE,
  HEADER_SOURCE_RECEIVED_AT,
  IngestResourceVersionsCommand,
  type SourceRecord,
} from '@fa/ingestion';

/** What a batch came to: recorded/unchanged (the store) or published (Kafka), and rejected lines. */
export interface SinkResult {
  recorded: number;
  unchanged: number;
  rejected: number;
  published: number;
}

/** Where bulk-sync hands the decoded records of a batch of export lines. */
export interface RecordSink {
  readonly kind: 'store' | 'kafka';
  write(records: SourceRecord[]): Promise<SinkResult>;
  close(): Promise<void>;
}

/** `--to store`: the records go through the IngestResourceVersions command, as `cli ingest` sends them. */
export function storeSink(commandBus: CommandBus, source: string, ingestionInstance: string): RecordSink {
  return {
    kind: 'store',
    async write(records) {
      const result = await commandBus.execute(
        new IngestResourceVersionsCommand(source, records, ingestionInstance),
      );
      return {
        recorded: result.recorded + result.deleted,
        unchanged: result.unchanged,
        rejected: result.rejected.length,
        published: 0,
      };
    },
    close: async () => undefined,
  };
}

/**
 * `--to kafka`: one message per resource keyed "<Type>/<id>" (one partition per resource, versions in order),
 * with the source header and the export's lineage in the bulk-export header; the consumer records them.
 * Lines that cannot be a resource are counted as rejected and not published (as `cli publish` does).
 */
export async function kafkaSink(options: {
  brokers: string[];
  topic: string;
  source: string;
}): Promise<RecordSink> {
  const kafka = new Kafka({
    clientId: 'fhir-aggregator-bulk-sync',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
  });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  return {
    kind: 'kafka',
    async write(records) {
      const messages: Message[] = [];
      let rejected = 0;
      for (const record of records) {
        if (record.kind !== 'resource') {
          rejected++;
          continue;
        }
        const bulk = record.origin.bulk!;
        messages.push({
          key: `${String(record.resource.resourceType)}/${String(record.resource.id ?? '')}`,
          value: stringifyFhirJson(record.resource),
          headers: {
            [HEADER_SOURCE]: options.source,
            [HEADER_CONTENT_TYPE]: 'application/fhir+json',
            [HEADER_CORRELATION_ID]: `${bulk.fileUrl}:${bulk.line}`,
            [HEADER_SOURCE_RECEIVED_AT]: new Date().toISOString(),
            [HEADER_BULK_EXPORT]: JSON.stringify(bulk),
          },
        });
      }
      if (messages.length > 0) await producer.send({ topic: options.topic, messages, acks: -1 });
      return { recorded: 0, unchanged: 0, rejected, published: messages.length };
    },
    close: () => producer.disconnect(),
  };
}
