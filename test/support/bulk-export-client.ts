import { gunzipSync } from 'node:zlib';
import type { Resource as FhirResource } from 'fhir/r4';
import type request from 'supertest';

/** The Bulk Data manifest as the IG (STU2) defines it. */
export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count?: number }[];
  deleted?: { type: string; url: string; count?: number }[];
  error: { type: string; url: string; count?: number }[];
}

export interface ExportResult {
  statusUrl: string;
  manifest: Manifest;
  expires: string | undefined;
  /** Lines of each output file by URL, parsed. */
  files: Map<string, FhirResource[]>;
  /** Every output resource by type (all its files). */
  byType: Map<string, FhirResource[]>;
  deleted: FhirResource[];
  errors: FhirResource[];
  /** X-Progress values seen while polling. */
  progress: string[];
}

type Http = () => ReturnType<typeof request>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Path and query of an absolute URL, to call it on the in-process server. */
export const pathOf = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

/** Kick-off (GET, or POST with a Parameters body), 202 with an absolute Content-Location. */
export async function kickOff(
  http: Http,
  url: string,
  body?: object,
  prefer = 'respond-async',
): Promise<string> {
  const call = body ? http().post(url).send(body) : http().get(url);
  const response = await call.set('Accept', 'application/fhir+json').set('Prefer', prefer);
  if (response.status !== 202)
    throw new Error(`kick-off ${url}: ${response.status} ${JSON.stringify(response.body).slice(0, 400)}`);
  const location = response.headers['content-location'] as string;
  if (!/^https?:\/\//.test(location)) throw new Error(`Content-Location is not absolute: ${location}`);
  return location;
}

/** Polls the status URL as told (Retry-After) until the manifest, then downloads every file. */
export async function awaitExport(http: Http, statusUrl: string, timeoutMs = 120_000): Promise<ExportResult> {
  const deadline = Date.now() + timeoutMs;
  const progress: string[] = [];
  for (;;) {
    const response = await http().get(pathOf(statusUrl));
    if (response.status === 200) {
      const manifest = response.body as Manifest;
      const files = new Map<string, FhirResource[]>();
      const byType = new Map<string, FhirResource[]>();
      for (const entry of manifest.output) {
        const lines = await download(http, entry.url);
        files.set(entry.url, lines);
        byType.set(entry.type, [...(byType.get(entry.type) ?? []), ...lines]);
      }
      const deleted: FhirResource[] = [];
      for (const entry of manifest.deleted ?? []) deleted.push(...(await download(http, entry.url)));
      const errors: FhirResource[] = [];
      for (const entry of manifest.error) errors.push(...(await download(http, entry.url)));
      return {
        statusUrl,
        manifest,
        expires: response.headers.expires,
        files,
        byType,
        deleted,
        errors,
        progress,
      };
    }
    if (response.status !== 202)
      throw new Error(
        `status ${statusUrl}: ${response.status} ${JSON.stringify(response.body).slice(0, 400)}`,
      );
    if (response.headers['x-progress']) progress.push(response.headers['x-progress'] as string);
    if (Date.now() > deadline) throw new Error(`export ${statusUrl} did not complete in ${timeoutMs} ms`);
    await sleep(Number(response.headers['retry-after'] ?? 1) * 1000);
  }
}

export async function download(http: Http, url: string, gzip = false): Promise<FhirResource[]> {
  const call = http()
    .get(pathOf(url))
    .buffer(true)
    .parse((res, callback) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => callback(null, Buffer.concat(chunks)));
    });
  const response = await (gzip
    ? call.set('Accept-Encoding', 'gzip')
    : call.set('Accept-Encoding', 'identity'));
  if (response.status !== 200) throw new Error(`file ${url}: ${response.status}`);
  let bytes = response.body as Buffer;
  if (response.headers['content-encoding'] === 'gzip' && bytes[0] === 0x1f) bytes = gunzipSync(bytes);
  return bytes
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as FhirResource);
}

export async function exportOf(http: Http, url: string, body?: object): Promise<ExportResult> {
  return awaitExport(http, await kickOff(http, url, body));
}
