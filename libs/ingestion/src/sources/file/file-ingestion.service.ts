import { promises as fs } from 'node:fs';
import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  IngestResourceVersionsCommand,
  IngestSummary,
} from '../../commands/ingest-resource-versions/ingest-resource-versions.command';
import type { SourceRecord } from '../../domain/source-record';
import { listSourceFiles, readSourceFile } from './read-source-files';

export interface FileIngestProgress {
  file: string;
  bytesDone: number;
  bytesTotal: number;
  summary: IngestSummary;
}

export interface FileIngestOptions {
  ingestionInstance: string;
  batchSize?: number;
  /** Batches appended at once. Batches that touch the same resource never overlap, so versions keep file order. */
  concurrency?: number;
  onProgress?: (progress: FileIngestProgress) => void;
}

/** Source-side identity of a record: two batches sharing one must not be in flight together. */
function recordKey(record: SourceRecord): string | undefined {
  if (record.kind === 'delete') return `${record.resourceType}/${record.sourceId}`;
  if (record.kind === 'resource')
    return `${String(record.resource.resourceType)}/${String(record.resource.id)}`;
  return undefined;
}

/** The file source: feeds NDJSON / Bundle files to the IngestResourceVersions command, batch by batch. */
@Injectable()
export class FileIngestionService {
  constructor(private readonly commandBus: CommandBus) {}

  async ingest(
    source: string,
    inputs: string[],
    options: FileIngestOptions,
  ): Promise<IngestSummary & { files: number; bytes: number }> {
    const files = await listSourceFiles(inputs);
    let bytesTotal = 0;
    for (const file of files) bytesTotal += (await fs.stat(file)).size;
    const summary: IngestSummary = { read: 0, recorded: 0, deleted: 0, unchanged: 0, rejected: [] };
    const concurrency = options.concurrency ?? 2;
    const inFlight = new Set<Promise<void>>();
    const busyKeys = new Set<string>();
    let failure: unknown;
    let bytesDone = 0;

    for (const file of files) {
      const batches = readSourceFile(file, {
        batchSize: options.batchSize,
        onBytes: (n) => (bytesDone += n),
      });
      for await (const records of batches) {
        const keys = records.map(recordKey).filter((k): k is string => k !== undefined);
        while (inFlight.size >= concurrency || keys.some((k) => busyKeys.has(k)))
          await Promise.race(inFlight);
        if (failure) break;
        for (const key of keys) busyKeys.add(key);
        const task: Promise<void> = this.commandBus
          .execute(new IngestResourceVersionsCommand(source, records, options.ingestionInstance))
          .then((result) => {
            summary.read += result.read;
            summary.recorded += result.recorded;
            summary.deleted += result.deleted;
            summary.unchanged += result.unchanged;
            summary.rejected.push(...result.rejected);
            options.onProgress?.({ file, bytesDone, bytesTotal, summary });
          })
          .catch((error: unknown) => {
            failure ??= error;
          })
          .finally(() => {
            for (const key of keys) busyKeys.delete(key);
            inFlight.delete(task);
          });
        inFlight.add(task);
      }
      if (failure) break;
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    return { ...summary, files: files.length, bytes: bytesTotal };
  }
}
