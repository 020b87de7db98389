import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { Kafka, logLevel, Message } from 'kafkajs';
import { parseReference, rewriteReferences, stringifyFhirJson } from '@fa/fhir';
import type { RejectionCode } from '../../domain/source-record';
import type { OriginLineage } from '../../events';
import { listSourceFiles, readSourceFile } from '../file/read-source-files';
import {
  HEADER_CONTENT_TYPE,
  HEADER_CORRELATION_ID,
  HEADER_SOURCE,
  HEADER_SOURCE_RECEIVED_AT,
} from './kafka-message';

export interface PublishSummary {
  files: number;
  bytes: number;
  published: number;
  tombstones: number;
  skipped: { code: RejectionCode; reason: string; origin: OriginLineage }[];
}

/**
 * Publishes source files to a topic, one resource per message keyed "<Type>/<id>" (so every version of a
 * resource lands on one partition, in order). Bundle entries are published one by one; their urn:uuid
 * references are first resolved to "<Type>/<id>" so they keep their meaning outside the Bundle. Lines that
 * cannot be a resource are reported and not published.
 */
export async function publishFiles(
  options: { brokers: string[]; topic: string; source: string; inputs: string[]; batchSize?: number },
  onProgress?: (progress: { bytesDone: number; bytesTotal: number; published: number }) => void,
): Promise<PublishSummary> {
  const files = await listSourceFiles(options.inputs);
  let bytesTotal = 0;
  for (const file of files) bytesTotal += (await fs.stat(file)).size;
  const kafka = new Kafka({
    clientId: 'fhir-aggregator-publisher',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const summary: PublishSummary = {
    files: files.length,
    bytes: bytesTotal,
    published: 0,
    tombstones: 0,
    skipped: [],
  };
  let bytesDone = 0;
  try {
    for (const file of files) {
      for await (const records of readSourceFile(file, {
        batchSize: options.batchSize ?? 1000,
        onBytes: (n) => (bytesDone += n),
      })) {
        const messages: Message[] = [];
        for (const record of records) {
          const correlation = `${path.basename(file)}:${record.origin.file?.line ?? record.origin.file?.entryIndex ?? 0}`;
          const headers = {
            [HEADER_SOURCE]: options.source,
            [HEADER_CORRELATION_ID]: correlation,
            [HEADER_SOURCE_RECEIVED_AT]: new Date().toISOString(),
          };
          if (record.kind === 'rejected') {
            summary.skipped.push({ code: record.code, reason: record.reason, origin: record.origin });
          } else if (record.kind === 'delete') {
            messages.push({ key: `${record.resourceType}/${record.sourceId}`, value: null, headers });
            summary.tombstones++;
          } else {
            const resource = record.resource;
            const fullUrls = record.bundleFullUrls;
            if (fullUrls) {
              rewriteReferences(resource, (reference) => {
                const target =
                  parseReference(reference).kind !== 'contained' ? fullUrls.get(reference) : undefined;
                return target ? `${target.resourceType}/${target.id}` : undefined;
              });
            }
            messages.push({
              key: `${String(resource.resourceType)}/${String(resource.id ?? '')}`,
              value: stringifyFhirJson(resource),
              headers: { ...headers, [HEADER_CONTENT_TYPE]: 'application/fhir+json' },
            });
          }
        }
        if (messages.length > 0) await producer.send({ topic: options.topic, messages, acks: -1 });
        summary.published += messages.length;
        onProgress?.({ bytesDone, bytesTotal, published: summary.published });
      }
    }
  } finally {
    await producer.disconnect();
  }
  return summary;
}
