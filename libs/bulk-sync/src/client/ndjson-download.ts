import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { splitLines, type SplitLine } from '@fa/ingestion';
import { BulkDataError, BulkDataHttp } from './bulk-data-http';

export interface DownloadOptions {
  /** False when the manifest says `requiresAccessToken: false`: the file is fetched without the token. */
  requiresAccessToken: boolean;
  maxLineBytes: number;
  /** Attempts per file after a broken download (default 6). */
  maxAttempts?: number;
  onRetry?: (what: string) => void;
}

const ACCEPT = 'application/fhir+ndjson, application/ndjson;q=0.9, application/x-ndjson;q=0.9, */*;q=0.1';

/**
 * Streams one export file as NDJSON lines, holding at most one line in memory. Gzip is asked for
 * (Content-Encoding, decoded by fetch) and a file the server serves gzipped as content (`.gz`, application/gzip)
 * is gunzipped here. When the download breaks part way, it resumes after the last whole line with
 * `Range: bytes=<offset>-` (identity encoding, so the offset means the same bytes); a server that answers the
 * range with the whole file (200) is read from the start with the lines already given skipped.
 */
export async function* downloadLines(
  http: BulkDataHttp,
  url: string,
  options: DownloadOptions,
): AsyncGenerator<SplitLine> {
  let from = { line: 0, offset: 0 };
  let rangeable = !new URL(url).pathname.toLowerCase().endsWith('.gz');
  for (let attempt = 1; ; attempt++) {
    const resuming = from.offset > 0;
    const useRange = resuming && rangeable;
    const headers: Record<string, string> = {
      accept: ACCEPT,
      'accept-encoding': useRange ? 'identity' : 'gzip',
      ...(useRange ? { range: `bytes=${from.offset}-` } : {}),
    };
    const response = await http.fetch(url, { headers, auth: options.requiresAccessToken });
    if (response.status === 416 && useRange) {
      await response.body?.cancel();
      return;
    }
    if ((response.status !== 200 && response.status !== 206) || !response.body) {
      await response.body?.cancel();
      throw new BulkDataError(`${url} answered ${response.status}`);
    }
    const type = (response.headers.get('content-type') ?? '').toLowerCase();
    if (type.startsWith('text/html'))
      throw new BulkDataError(`${url} answered ${type}, not NDJSON (a login page or an error page?)`);
    const gzipped = /gzip/.test(type) || !rangeable;
    let skip = 0;
    if (resuming) {
      const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
      if (response.status === 206 && (gzipped || Number(start) !== from.offset)) {
        // A range of gzipped bytes, or not the one asked for: read the whole file instead.
        await response.body.cancel();
        rangeable = false;
        attempt--;
        continue;
      }
      if (response.status === 200) skip = from.offset;
    }
    let bytes: AsyncIterable<Buffer> = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    if (gzipped) bytes = (bytes as Readable).pipe(createGunzip());
    try {
      for await (const item of splitLines(skipBytes(bytes, skip), options.maxLineBytes, from)) {
        from = { line: item.line, offset: item.end };
        yield item;
      }
      return;
    } catch (error) {
      if (http.options.signal.aborted) throw error;
      if (attempt >= (options.maxAttempts ?? 6))
        throw new BulkDataError(`${url}: the download broke ${attempt} times: ${(error as Error).message}`);
      options.onRetry?.(`${url} broke after line ${from.line} (${(error as Error).message}); resuming`);
      await http.wait(`download ${url}`, attempt);
    }
  }
}

async function* skipBytes(chunks: AsyncIterable<Buffer>, skip: number): AsyncGenerator<Buffer> {
  let left = skip;
  for await (const chunk of chunks) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}
