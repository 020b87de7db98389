import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { decodeFhirJson } from '../../domain/decode-fhir-json';
import type { SourceRecord } from '../../domain/source-record';
import { splitLines } from './split-lines';

export const MAX_LINE_BYTES = 16 * 1024 * 1024;
export const MAX_JSON_FILE_BYTES = 512 * 1024 * 1024;

const NDJSON = /\.(ndjson|jsonl)(\.gz)?$/i;
const JSON_FILE = /\.json(\.gz)?$/i;

/** Files under the given files/folders that a file source reads, sorted so runs are repeatable. */
export async function listSourceFiles(inputs: string[]): Promise<string[]> {
  const files: string[] = [];
  const visit = async (target: string) => {
    const stat = await fs.stat(target);
    if (stat.isDirectory()) {
      const names = (await fs.readdir(target)).sort();
      for (const name of names) await visit(path.join(target, name));
    } else if (NDJSON.test(target) || JSON_FILE.test(target)) files.push(path.resolve(target));
    else if (inputs.includes(target)) throw new Error(`${target}: not .ndjson, .ndjson.gz, .jsonl or .json`);
  };
  for (const input of inputs) await visit(input);
  return files;
}

/**
 * Reads a source file as source records in batches. NDJSON is streamed line by line (line numbers in the origin);
 * a .json file is one resource or a Bundle. onBytes reports progress in bytes of the file on disk.
 */
export async function* readSourceFile(
  file: string,
  options: { batchSize?: number; onBytes?: (bytes: number) => void; maxLineBytes?: number } = {},
): AsyncGenerator<SourceRecord[]> {
  const batchSize = options.batchSize ?? 500;
  const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const counted = raw.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        options.onBytes?.(chunk.length);
        callback(null, chunk);
      },
    }),
  );
  raw.on('error', (error) => counted.destroy(error));
  const bytes: AsyncIterable<Buffer> = file.toLowerCase().endsWith('.gz')
    ? counted.pipe(createGunzip())
    : counted;

  if (NDJSON.test(file)) {
    let batch: SourceRecord[] = [];
    for await (const item of splitLines(bytes, options.maxLineBytes ?? MAX_LINE_BYTES)) {
      const origin = { file: { path: file, line: item.line } };
      if ('tooLargeBytes' in item) {
        batch.push({
          kind: 'rejected',
          code: 'too-large',
          reason: `line ${item.line} is ${item.tooLargeBytes} bytes; the limit is ${options.maxLineBytes ?? MAX_LINE_BYTES}`,
          origin,
        });
      } else if (!isBlank(item.bytes)) {
        batch.push(...decodeFhirJson(item.bytes, origin));
      }
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    return;
  }

  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of bytes) {
    size += chunk.length;
    if (size > MAX_JSON_FILE_BYTES) {
      raw.destroy();
      yield [
        {
          kind: 'rejected',
          code: 'too-large',
          reason: `${path.basename(file)} is over ${MAX_JSON_FILE_BYTES} bytes; split it or use NDJSON`,
          origin: { file: { path: file } },
        },
      ];
      return;
    }
    parts.push(chunk);
  }
  const records = decodeFhirJson(Buffer.concat(parts), { file: { path: file } });
  for (let i = 0; i < records.length; i += batchSize) yield records.slice(i, i + batchSize);
}

function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}
