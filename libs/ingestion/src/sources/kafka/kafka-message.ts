/** The parts of a Kafka message ingestion looks at; kafkajs messages fit it, and tests can build one by hand. */
export interface KafkaMessageLike {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export const HEADER_SOURCE = 'source';
export const HEADER_CORRELATION_ID = 'correlation-id';
export const HEADER_SOURCE_RECEIVED_AT = 'source-received-at';
export const HEADER_CONTENT_TYPE = 'content-type';
/** bulk-sync's records: the Bulk Data export the record was pulled from (JSON of a BulkExportOrigin). */
export const HEADER_BULK_EXPORT = 'bulk-export';
export const NDJSON_CONTENT_TYPE = 'application/fhir+ndjson';

export function headerText(message: KafkaMessageLike, name: string): string | undefined {
  const raw = message.headers?.[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

export function dlqTopicOf(topic: string): string {
  return `${topic}.dlq`;
}

/**
 * The headers that say why a dead letter is one: its rejections' reasons (joined, at most 4000 characters) and
 * their distinct codes. The consumer adds them to a message it rejects; bulk-sync to an export line it cannot
 * publish as a resource.
 */
export function deadLetterHeaders(rejections: { code: string; reason: string }[]): Record<string, string> {
  return {
    'dlq-reason': rejections
      .map((r) => r.reason)
      .join('; ')
      .slice(0, 4000),
    'dlq-code': [...new Set(rejections.map((r) => r.code))].join(','),
  };
}
