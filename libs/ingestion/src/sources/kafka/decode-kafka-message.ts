import { decodeUtf8Strict } from '@fa/fhir';
import { decodeFhirJson } from '../../domain/decode-fhir-json';
import { excerptOf, SourceRecord } from '../../domain/source-record';
import { SOURCE_NAME_PATTERN } from '../../domain/aggregate-ids';
import type { BulkExportOrigin, OriginLineage } from '../../events';
import {
  HEADER_BULK_EXPORT,
  HEADER_CONTENT_TYPE,
  HEADER_CORRELATION_ID,
  HEADER_SOURCE,
  HEADER_SOURCE_RECEIVED_AT,
  headerText,
  KafkaMessageLike,
  NDJSON_CONTENT_TYPE,
} from './kafka-message';

export const UNKNOWN_SOURCE = 'unknown';

export interface DecodedKafkaMessage {
  /** Source system the records belong to; UNKNOWN_SOURCE (with one rejection) when none can be determined. */
  source: string;
  records: SourceRecord[];
  /** The message's Kafka coordinates and headers, as every record's origin starts. */
  origin: OriginLineage;
}

/** The bulk-export header as lineage; a header that is not one (wrong shape) is left out, never trusted. */
function bulkExportOrigin(header: string | undefined): Pick<OriginLineage, 'bulk'> {
  if (!header) return {};
  try {
    const v = JSON.parse(header) as Partial<BulkExportOrigin>;
    const text = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 2048;
    if (text(v.server) && text(v.statusUrl) && text(v.transactionTime) && text(v.fileUrl))
      if (Number.isInteger(v.line) && v.line! > 0)
        return {
          bulk: {
            server: v.server,
            statusUrl: v.statusUrl,
            transactionTime: v.transactionTime,
            fileUrl: v.fileUrl,
            line: v.line!,
          },
        };
  } catch {
    // not JSON: no bulk lineage
  }
  return {};
}

/**
 * Pure: one Kafka message → the source records it carries. The message's source comes from its `source` header,
 * else from the topic's configured source. A null value (tombstone) keyed "<Type>/<id>" deletes.
 */
export function decodeKafkaMessage(
  topic: string,
  partition: number,
  message: KafkaMessageLike,
  options: { topicSource?: string; maxMessageBytes: number },
): DecodedKafkaMessage {
  const key = message.key?.toString('utf8');
  const sourceReceivedAt = headerText(message, HEADER_SOURCE_RECEIVED_AT);
  const origin: OriginLineage = {
    kafka: {
      topic,
      partition,
      offset: message.offset,
      ...(key !== undefined ? { key } : {}),
      timestamp: new Date(Number(message.timestamp)).toISOString(),
      ...(sourceReceivedAt ? { sourceReceivedAt } : {}),
    },
    ...(headerText(message, HEADER_CORRELATION_ID)
      ? { correlationId: headerText(message, HEADER_CORRELATION_ID) }
      : {}),
    ...bulkExportOrigin(headerText(message, HEADER_BULK_EXPORT)),
  };
  const source = headerText(message, HEADER_SOURCE) ?? options.topicSource;
  if (!source || !SOURCE_NAME_PATTERN.test(source)) {
    return {
      source: UNKNOWN_SOURCE,
      origin,
      records: [
        {
          kind: 'rejected',
          code: 'unknown-source',
          reason: source
            ? `source ${JSON.stringify(source.slice(0, 80))} is not a valid source name`
            : `no source: topic ${topic} has no configured source and the message has no "${HEADER_SOURCE}" header`,
          origin,
        },
      ],
    };
  }
  if (message.value === null) {
    const target = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(key ?? '');
    if (!target) {
      return {
        source,
        origin,
        records: [
          {
            kind: 'rejected',
            code: 'invalid-delete',
            reason: `tombstone needs key "<Type>/<id>", got ${JSON.stringify(key ?? null)}`,
            origin,
          },
        ],
      };
    }
    return {
      source,
      origin,
      records: [{ kind: 'delete', resourceType: target[1], sourceId: target[2], origin }],
    };
  }
  if (message.value.length > options.maxMessageBytes) {
    return {
      source,
      origin,
      records: [
        {
          kind: 'rejected',
          code: 'too-large',
          reason: `message is ${message.value.length} bytes; the limit is ${options.maxMessageBytes}`,
          origin,
        },
      ],
    };
  }
  if ((headerText(message, HEADER_CONTENT_TYPE) ?? '').startsWith(NDJSON_CONTENT_TYPE)) {
    const decoded = decodeUtf8Strict(message.value);
    if (!decoded.ok) {
      return { source, origin, records: [{ kind: 'rejected', ...decoded.problem, origin }] };
    }
    const records: SourceRecord[] = [];
    decoded.text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      const at: OriginLineage = { ...origin, kafka: { ...origin.kafka!, entryIndex: index } };
      records.push(...decodeFhirJson(line, at));
    });
    if (records.length === 0) {
      records.push({
        kind: 'rejected',
        code: 'not-a-resource',
        reason: 'empty NDJSON message',
        origin,
        excerpt: excerptOf(decoded.text),
      });
    }
    return { source, origin, records };
  }
  // The bytes themselves: decodeFhirJson checks they are UTF-8 (the dead letter keeps them as they came).
  return { source, origin, records: decodeFhirJson(message.value, origin) };
}
