import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';

/** One resource the test server exports, with the server-side instant it last changed (for `_since`). */
interface HeldResource {
  type: string;
  id: string;
  line: string;
  changedAt: number;
  deleted?: boolean;
}

/** Faults and quirks the server can show, to test a Bulk Data client's tolerance (all off by default). */
export interface BulkDataServerFaults {
  /** Kick-offs answered 429 with Retry-After before one is accepted. */
  kickOff429?: number;
  /** Status polls answered 429 with Retry-After (after the first 202). */
  status429?: number;
  /** Status polls answered 202 (X-Progress, Retry-After) before the manifest. */
  pollsBeforeComplete?: number;
  /** Types whose file's first download is cut off half-way (the socket is destroyed). */
  dropMidFile?: string[];
  /** Relative file URLs in the manifest (and a relative Content-Location). */
  relativeUrls?: boolean;
  /** The files' Content-Type (default application/fhir+ndjson). */
  contentType?: string;
  /** No `count` in the manifest's output entries. */
  omitCount?: boolean;
  /** The manifest says requiresAccessToken: false and files are served without a token. */
  noFileToken?: boolean;
  /** Files are gzipped (Content-Encoding) when the client accepts gzip. */
  gzip?: boolean;
  /** A manifest without `output`. */
  noOutput?: boolean;
  /** Every token is invalidated after the kick-off: the next request gets 401 and needs a new one. */
  revokeTokensAfterKickOff?: boolean;
  /** Types whose files send half their bytes and then hang (until the server closes): a run to kill. */
  stall?: string[];
  /** Types whose file drops this many lines while the manifest still counts them. */
  shortFiles?: Record<string, number>;
  /** Lines appended to a type's last file (and counted): bad input, e.g. not JSON or another type's resource. */
  extraLines?: Record<string, (string | Buffer)[]>;
}

export interface BulkDataServerRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  range?: string;
  acceptEncoding?: string;
  status: number;
}

export interface BulkDataServer {
  /** The FHIR base URL. */
  base: string;
  requests: BulkDataServerRequest[];
  /** The client assertions accepted: header kid/alg, jti, lifetime in seconds. */
  assertions: { kid?: string; alg?: string; jti: string; lifetimeSeconds: number }[];
  faults: BulkDataServerFaults;
  /** The bytes of each file served, by absolute URL. */
  files: Map<string, Buffer>;
  /** Replace or add resources (changedAt now): the next `_since` export holds exactly these. */
  put(type: string, lines: string[]): void;
  /** Delete a resource (now): the next `_since` export lists it in `deleted`, later full ones leave it out. */
  remove(type: string, id: string): void;
  /** Every export so far expires: its status URL answers 410 Gone, its files 404. */
  expireJobs(): void;
  /** The NDJSON lines held per type (the ground truth). */
  held(): Map<string, string[]>;
  close(): Promise<void>;
}

/** Reads an NDJSON folder (one <Type>.ndjson per type) as the server's data. */
export function ndjsonFolder(dir: string): Map<string, string[]> {
  const data = new Map<string, string[]>();
  for (const name of readdirSync(dir).sort()) {
    const type = /^([A-Za-z]+)\.ndjson$/.exec(name)?.[1];
    if (!type) continue;
    data.set(
      type,
      readFileSync(path.join(dir, name), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== ''),
    );
  }
  return data;
}

/**
 * A small FHIR Bulk Data server over real HTTP, for the bulk-sync client's tests: SMART Backend Services token
 * endpoint (assertions verified against the client's JWKS: iss = sub = client id, aud, exp ≤ 5 min, jti once),
 * system and Group `$export` kick-off (Accept and Prefer required), status polling, DELETE, and NDJSON files with
 * Range and gzip, plus the faults above. Types with more than `splitAt` resources are split over two files.
 */
export async function startBulkDataServer(options: {
  data: Map<string, string[]>;
  clientId: string;
  jwks: JSONWebKeySet;
  tokenLifetimeSeconds?: number;
  faults?: BulkDataServerFaults;
  splitAt?: number;
}): Promise<BulkDataServer> {
  const jwks = createLocalJWKSet(options.jwks);
  const faults: BulkDataServerFaults = { ...options.faults };
  const held = new Map<string, HeldResource>();
  const put = (type: string, lines: string[], changedAt: number) => {
    for (const line of lines) {
      const id = String((JSON.parse(line) as { id: string }).id);
      held.set(`${type}/${id}`, { type, id, line, changedAt });
    }
  };
  for (const [type, lines] of options.data) put(type, lines, 0);
  const tokens = new Map<string, number>();
  const jtis = new Set<string>();
  const requests: BulkDataServerRequest[] = [];
  const assertions: BulkDataServer['assertions'] = [];
  const jobs = new Map<
    string,
    { polls: number; files: Map<string, Buffer>; manifest: object; cancelled: boolean; expired?: boolean }
  >();
  const dropped = new Set<string>();
  const fileByUrl = new Map<string, Buffer>();
  let kickOffs429 = 0;
  let status429 = 0;
  let origin = '';

  const send = (
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/fhir+json' } : {}), ...headers });
    res.end(text);
  };
  const outcome = (diagnostics: string) => ({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'processing', diagnostics }],
  });
  const authorized = (req: IncomingMessage) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const until = token ? tokens.get(token) : undefined;
    return until !== undefined && until > Date.now();
  };
  const readBody = async (req: IncomingMessage) => {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    return Buffer.concat(parts).toString('utf8');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const url = new URL(req.url ?? '/', origin);
    const p = url.pathname;
    if (p === '/fhir/.well-known/smart-configuration') {
      send(res, 200, {
        token_endpoint: `${origin}/auth/token`,
        grant_types_supported: ['client_credentials'],
      });
      return 200;
    }
    if (p === '/auth/token' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const assertion = form.get('client_assertion') ?? '';
      try {
        const { payload } = await jwtVerify(assertion, jwks, {
          issuer: options.clientId,
          subject: options.clientId,
          audience: `${origin}/auth/token`,
          algorithms: ['RS384', 'ES384'],
        });
        const lifetime = (payload.exp ?? 0) - Math.floor(Date.now() / 1000);
        if (!payload.jti || jtis.has(payload.jti) || lifetime > 300)
          throw new Error('jti reused or exp too far');
        jtis.add(payload.jti);
        const header = decodeProtectedHeader(assertion);
        assertions.push({ kid: header.kid, alg: header.alg, jti: payload.jti, lifetimeSeconds: lifetime });
      } catch (error) {
        send(res, 401, { error: 'invalid_client', error_description: (error as Error).message });
        return 401;
      }
      const token = randomBytes(16).toString('hex');
      const lifetime = options.tokenLifetimeSeconds ?? 300;
      tokens.set(token, Date.now() + lifetime * 1000);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          access_token: token,
          token_type: 'bearer',
          expires_in: lifetime,
          scope: form.get('scope'),
        }),
      );
      return 200;
    }
    const fileMatch = /^\/files\/([^/]+)\/([^/]+)$/.exec(p);
    if (fileMatch && req.method === 'GET') return serveFile(req, res, fileMatch[1], fileMatch[2]);
    if (!authorized(req)) {
      send(res, 401, outcome('a valid bearer token is required'));
      return 401;
    }
    const kick = /^\/fhir(?:\/Group\/([^/]+))?\/\$export$/.exec(p);
    if (kick && req.method === 'GET') {
      if (req.headers.accept !== 'application/fhir+json' || req.headers.prefer !== 'respond-async') {
        send(res, 400, outcome('Accept: application/fhir+json and Prefer: respond-async are required'));
        return 400;
      }
      if (kickOffs429 < (faults.kickOff429 ?? 0)) {
        kickOffs429++;
        send(res, 429, outcome('too many exports'), { 'retry-after': '1' });
        return 429;
      }
      const since = url.searchParams.get('_since');
      const types = url.searchParams.get('_type')?.split(',');
      const sinceMs = since ? Date.parse(since) : -Infinity;
      const transactionTime = new Date();
      const byType = new Map<string, string[]>();
      const deletions: string[] = [];
      for (const r of held.values()) {
        if (
          r.changedAt <= sinceMs ||
          r.changedAt > transactionTime.getTime() ||
          (types && !types.includes(r.type))
        )
          continue;
        if (!r.deleted) byType.set(r.type, [...(byType.get(r.type) ?? []), r.line]);
        else if (since)
          deletions.push(
            JSON.stringify({
              resourceType: 'Bundle',
              type: 'transaction',
              entry: [{ request: { method: 'DELETE', url: `${r.type}/${r.id}` } }],
            }),
          );
      }
      const job = randomBytes(8).toString('hex');
      const files = new Map<string, Buffer>();
      const output: { type: string; url: string; count?: number }[] = [];
      for (const [type, lines] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
        const parts =
          lines.length > (options.splitAt ?? Infinity)
            ? [lines.slice(0, options.splitAt), lines.slice(options.splitAt)]
            : [lines];
        parts.forEach((part, i) => {
          const name = `${type}-${i + 1}.ndjson`;
          const last = i === parts.length - 1;
          const short = last ? (faults.shortFiles?.[type] ?? 0) : 0;
          const extra = last ? (faults.extraLines?.[type] ?? []) : [];
          const served = [...part.slice(0, part.length - short), ...extra];
          files.set(name, Buffer.concat(served.flatMap((l) => [Buffer.from(l), Buffer.from('\n')])));
          fileByUrl.set(`${origin}/files/${job}/${name}`, files.get(name)!);
          output.push({
            type,
            url: faults.relativeUrls ? `../files/${job}/${name}` : `${origin}/files/${job}/${name}`,
            ...(faults.omitCount ? {} : { count: part.length + extra.length }),
          });
        });
      }
      const deleted: { type: string; url: string; count: number }[] = [];
      if (deletions.length > 0) {
        files.set('deleted.ndjson', Buffer.from(deletions.map((l) => `${l}\n`).join('')));
        fileByUrl.set(`${origin}/files/${job}/deleted.ndjson`, files.get('deleted.ndjson')!);
        deleted.push({
          type: 'Bundle',
          url: `${origin}/files/${job}/deleted.ndjson`,
          count: deletions.length,
        });
      }
      const manifest = {
        transactionTime: transactionTime.toISOString(),
        request: `${origin}${req.url}`,
        requiresAccessToken: !faults.noFileToken,
        ...(faults.noOutput ? {} : { output }),
        deleted,
        error: [],
      };
      jobs.set(job, { polls: 0, files, manifest, cancelled: false });
      if (faults.revokeTokensAfterKickOff) tokens.clear();
      send(res, 202, outcome('accepted'), {
        'content-location': faults.relativeUrls ? `../status/${job}` : `${origin}/status/${job}`,
      });
      return 202;
    }
    const status = /^\/status\/([^/]+)$/.exec(p);
    if (status) {
      const job = jobs.get(status[1]);
      if (!job || job.cancelled) {
        send(res, 404, outcome('no such export'));
        return 404;
      }
      if (job.expired) {
        send(res, 410, outcome('this export has expired'));
        return 410;
      }
      if (req.method === 'DELETE') {
        job.cancelled = true;
        send(res, 202, outcome('cancelled'));
        return 202;
      }
      job.polls++;
      if (job.polls > 1 && status429 < (faults.status429 ?? 0)) {
        status429++;
        send(res, 429, outcome('polled too fast'), { 'retry-after': '1' });
        return 429;
      }
      if (job.polls <= (faults.pollsBeforeComplete ?? 0)) {
        res.writeHead(202, {
          'x-progress': `${Math.round((job.polls / ((faults.pollsBeforeComplete ?? 0) + 1)) * 100)}% done`,
          'retry-after': '1',
        });
        res.end();
        return 202;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        expires: new Date(Date.now() + 3_600_000).toUTCString(),
      });
      res.end(JSON.stringify(job.manifest));
      return 200;
    }
    send(res, 404, outcome(`unknown: ${p}`));
    return 404;
  };

  const serveFile = (req: IncomingMessage, res: ServerResponse, jobId: string, name: string): number => {
    const job = jobs.get(jobId);
    const file = job?.files.get(name);
    if (!job || !file || job.expired) {
      send(res, 404, outcome('no such file'));
      return 404;
    }
    if (!faults.noFileToken && !authorized(req)) {
      send(res, 401, outcome('a valid bearer token is required'));
      return 401;
    }
    const type = faults.contentType ?? 'application/fhir+ndjson';
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    if (range) {
      const start = Number(range[1]);
      if (start >= file.length) {
        res.writeHead(416, { 'content-range': `bytes */${file.length}` });
        res.end();
        return 416;
      }
      res.writeHead(206, {
        'content-type': type,
        'content-range': `bytes ${start}-${file.length - 1}/${file.length}`,
        'content-length': String(file.length - start),
      });
      res.end(file.subarray(start));
      return 206;
    }
    const gzip = faults.gzip && /gzip/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? gzipSync(file) : file;
    res.writeHead(200, {
      'content-type': type,
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    const fileType = name.replace(/-\d+\.ndjson$/, '');
    if (faults.stall?.includes(fileType)) {
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      return 200;
    }
    if (faults.dropMidFile?.includes(fileType) && !dropped.has(name)) {
      dropped.add(name);
      res.write(body.subarray(0, Math.floor(body.length / 2)), () =>
        setTimeout(() => res.socket?.destroy(), 500),
      );
      return 200;
    }
    res.end(body);
    return 200;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    handle(req, res).then(
      (status) =>
        requests.push({
          method: req.method ?? 'GET',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          authorization: req.headers.authorization,
          range: req.headers.range,
          acceptEncoding: req.headers['accept-encoding'],
          status,
        }),
      (error: Error) => {
        if (!res.headersSent) send(res, 500, outcome(error.message));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base: `${origin}/fhir`,
    requests,
    assertions,
    faults,
    files: fileByUrl,
    put: (type, lines) => put(type, lines, Date.now()),
    remove: (type, id) => {
      const r = held.get(`${type}/${id}`);
      if (r) held.set(`${type}/${id}`, { ...r, deleted: true, changedAt: Date.now() });
    },
    expireJobs: () => {
      for (const job of jobs.values()) job.expired = true;
    },
    held: () => {
      const out = new Map<string, string[]>();
      for (const r of held.values()) if (!r.deleted) out.set(r.type, [...(out.get(r.type) ?? []), r.line]);
      return out;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
