import { promises as fs } from 'node:fs';
import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  IngestResourceVersionsCommand,
  IngestSummary,
} from '../../commands/ingest-resource-versions/ingest-resource-versions.command';
import { listSourceFiles, readSourceFile } from './read-source-files';

export interface FileIngestProgress {
  file: string;
  bytesDone: number;
  bytesTotal: number;
  summary: IngestSummary;
}

/** The file source: feeds NDJSON / Bundle files to the IngestResourceVersions command, batch by batch. */
@Injectable()
export class FileIngestionService {
  constructor(private readonly commandBus: CommandBus) {}

  async ingest(
    source: string,
    inputs: string[],
    options: {
      ingestionInstance: string;
      batchSize?: number;
      onProgress?: (progress: FileIngestProgress) => void;
    },
  ): Promise<IngestSummary & { files: number; bytes: number }> {
    const files = await listSourceFiles(inputs);
    let bytesTotal = 0;
    for (const file of files) bytesTotal += (await fs.stat(file)).size;
    const summary: IngestSummary = { read: 0, recorded: 0, deleted: 0, unchanged: 0, rejected: [] };
    let bytesDone = 0;
    for (const file of files) {
      const batches = readSourceFile(file, {
        batchSize: options.batchSize,
        onBytes: (n) => (bytesDone += n),
      });
      for await (const records of batches) {
        const result = await this.commandBus.execute(
          new IngestResourceVersionsCommand(source, records, options.ingestionInstance),
        );
        summary.read += result.read;
        summary.recorded += result.recorded;
        summary.deleted += result.deleted;
        summary.unchanged += result.unchanged;
        summary.rejected.push(...result.rejected);
        options.onProgress?.({ file, bytesDone, bytesTotal, summary });
      }
    }
    return { ...summary, files: files.length, bytes: bytesTotal };
  }
}
