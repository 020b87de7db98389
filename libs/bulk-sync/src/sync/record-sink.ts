import { CommandBus } from '@nestjs/cqrs';
import { Kafka, logLevel, type IHeaders, type Message, type Producer } from 'kafkajs';
import { stringifyFhirJson } from '@fa/fhir';
import {
  deadLetterHeaders,
  dlqTopicOf,
  HEADER_BULK_EXPORT,
  HEADER_CONTENT_TYPE,
  HEADER_CORRELATION_ID,
  HEADER_SOURCE,
  HEADER_SOURCE_RECEIVED_AT,
  IngestResourceVersionsCommand,
  ingestionMetrics,
  type BulkExportOrigin,
  type SourceRecord,
} from '@fa/ingestion';

/** What a batch came to: recorded/unchanged (the store) or published (Kafka), and rejected lines. */
export interface SinkResult {
  recorded: number;
  unchanged: number;
  rejected: number;
  published: number;
}

/** One line of an export file: the records it decoded to, and its bytes (none when over the line limit). */
export interface ExportLine {
  bytes?: Buffer;
  records: SourceRecord[];
}

/** Where bulk-sync hands the decoded lines of a batch of export lines. */
export interface RecordSink {
  readonly kind: 'store' | 'kafka';
  write(lines: ExportLine[]): Promise<SinkResult>;
  close(): Promise<void>;
}

/**
 * `--to store`: the records go through the IngestResourceVersions command, as `cli ingest` sends them; a line that
 * cannot be a resource is recorded there as IngestionRejected, its origin naming the export's file and line.
 */
export function storeSink(commandBus: CommandBus, source: string, ingestionInstance: string): RecordSink {
  return {
    kind: 'store',
    async write(lines) {
      const result = await commandBus.execute(
        new IngestResourceVersionsCommand(
          source,
          lines.flatMap((l) => l.records),
          ingestionInstance,
        ),
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
 * `--to kafka`: one message per resource keyed "<Type>/<id>" (one partition per resource, versions in order), a
 * tombstone per delete, with the source header and the export's lineage in the bulk-export header; the consumer
 * records them. A line that cannot be a resource is dead-lettered as the consumer dead-letters a message: to
 * `<topic>.dlq`, with its bytes as they came (none over the line limit), dlq-reason and dlq-code, and the
 * bulk-export header naming its file and line.
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
  const dlq = dlqTopicOf(options.topic);
  const headersOf = (bulk: BulkExportOrigin): IHeaders => ({
    [HEADER_SOURCE]: options.source,
    [HEADER_CORRELATION_ID]: `${bulk.fileUrl}:${bulk.line}`,
    [HEADER_SOURCE_RECEIVED_AT]: new Date().toISOString(),
    [HEADER_BULK_EXPORT]: JSON.stringify(bulk),
  });
  return {
    kind: 'kafka',
    async write(lines) {
      const messages: Message[] = [];
      const deadLetters: Message[] = [];
      let rejected = 0;
      for (const line of lines) {
        const rejections: Extract<SourceRecord, { kind: 'rejected' }>[] = [];
        for (const record of line.records) {
          if (record.kind === 'rejected') rejections.push(record);
          else if (record.kind === 'delete')
            messages.push({
              key: `${record.resourceType}/${record.sourceId}`,
              value: null,
              headers: headersOf(record.origin.bulk!),
            });
          else
            messages.push({
              key: `${String(record.resource.resourceType)}/${String(record.resource.id ?? '')}`,
              value: stringifyFhirJson(record.resource),
              headers: { ...headersOf(record.origin.bulk!), [HEADER_CONTENT_TYPE]: 'application/fhir+json' },
            });
        }
        if (rejections.length === 0) continue;
        rejected += rejections.length;
        deadLetters.push({
          key: null,
          value: line.bytes ?? null,
          headers: { ...headersOf(rejections[0].origin.bulk!), ...deadLetterHeaders(rejections) },
        });
      }
      const topicMessages = [
        ...(messages.length > 0 ? [{ topic: options.topic, messages }] : []),
        ...(deadLetters.length > 0 ? [{ topic: dlq, messages: deadLetters }] : []),
      ];
      if (topicMessages.length > 0) await producer.sendBatch({ topicMessages, acks: -1 });
      if (deadLetters.length > 0) ingestionMetrics.deadLetters.inc({ topic: dlq }, deadLetters.length);
      return { recorded: 0, unchanged: 0, rejected, published: messages.length };
    },
    close: () => producer.disconnect(),
  };
}
