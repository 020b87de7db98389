import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Pool } from 'pg';
import { AccessJournal, patientsInBody, patientsInDocument } from '@fa/audit';
import { FileIngestionService } from '@fa/ingestion';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { registerServiceClient } from '@fa/testkit';
import { freshDatabase, openRuntime } from '../support/datasets';
import { latency, originOf, settle } from '../support/load';
import { percentile, record, round } from '../support/results';

const CLIENTS = 8;
const REQUESTS = 1000;
const ROUNDS = 8;

/**
 * What the access audit costs: reads and searches by 8 clients against two apps on one store (tokens required
 * on both, as `npm start`), one with the audit (every answer held until its hash-chained record is committed,
 * group commit) and one without, in alternating rounds so the shared machine's noise falls on both. Figures:
 * p50/p99 as clients saw them and throughput, with and without, their difference and ratio; the audit's mean
 * batch size (records per commit).
 */
export async function auditOverhead(serverUrl: string, dataDir: string) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  const auditDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bench-audit-'));
  const audited = await createAggregatorApp(runtime, {
    audit: {
      anchorDir: path.join(auditDir, 'audit-anchors'),
      keyFile: path.join(auditDir, 'audit-anchor-key.pem'),
      anchorIntervalMs: 10_000,
    },
  });
  const unaudited = await createAggregatorApp(runtime, { accessAudit: false });
  await audited.init();
  await unaudited.init();
  await runtime.runner.start();
  await audited.get(FileIngestionService).ingest('bench', [dataDir], { ingestionInstance: 'bench' });
  await runtime.runner.waitForCatchUp();
  await settle(runtime);

  // Tokens are required (as `npm start`): each app grants its own to one reading client.
  const client = await registerServiceClient(runtime.database.pool, 'bench-audit', 'system/*.rs');
  const headers = new Map<INestApplication, Record<string, string>>();
  for (const app of [audited, unaudited])
    headers.set(app, { authorization: `Bearer ${await client.token(await originOf(app))}` });
  const origin = await originOf(unaudited);
  const ids = async (type: string) => {
    const response = await fetch(`${origin}/fhir/${type}?_count=500`, { headers: headers.get(unaudited) });
    const bundle = (await response.json()) as {
      entry: { resource: { id: string } }[];
    };
    return bundle.entry.map((e) => e.resource.id);
  };
  const patients = await ids('Patient');
  const observations = await ids('Observation');
  const workloads = {
    read: observations.map((id: string) => `/fhir/Observation/${id}`),
    search: patients.map((id: string) => `/fhir/Observation?subject=Patient/${id}&_count=20`),
  };
  const journal = audited.get(AccessJournal);
  const runs: Record<string, { on: Run[]; off: Run[] }> = {
    read: { on: [], off: [] },
    search: { on: [], off: [] },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, urls] of Object.entries(workloads)) {
      runs[name].off.push(await measure(unaudited, urls, headers.get(unaudited)!));
      runs[name].on.push(await measure(audited, urls, headers.get(audited)!));
    }
  }
  for (const [name, { on, off }] of Object.entries(runs)) {
    const a = merge(on);
    const b = merge(off);
    record(`audit: ${name}, ${CLIENTS} clients, audit on vs off`, {
      'off p50 ms': round(b.p50, 2),
      'off p99 ms': round(b.p99, 2),
      'off per second': Math.round(b.rate),
      'on p50 ms': round(a.p50, 2),
      'on p99 ms': round(a.p99, 2),
      'on per second': Math.round(a.rate),
      'p50 added ms': round(a.p50 - b.p50, 2),
      'throughput on/off': round(a.rate / b.rate, 3),
      'server p50 added ms': round(a.serverP50 - b.serverP50, 2),
    });
  }
  for (const [name, urls] of Object.entries(workloads))
    record(
      `audit: ${name}, the patients of one answer`,
      await patientsCost(origin, urls.slice(0, 200), headers.get(unaudited)!),
    );
  record('audit: group commit', {
    records: journal.records,
    commits: journal.batches,
    'records per commit': round(journal.records / Math.max(1, journal.batches), 2),
    // The floor of any durable write on this disk: one single-row commit at a time, WAL flushed.
    'fsynced commit p50 ms': round(await commitLatency(runtime.database.pool), 2),
  });
  await audited.close();
  await unaudited.close();
  await runtime.close();
  await fs.rm(auditDir, { recursive: true, force: true });
}

/**
 * The audit's own CPU per answer for its patients: parsing the body again (what it does for a body it did not
 * see serialized) against walking the document sendFhir serialized (handed over in response.locals).
 */
async function patientsCost(origin: string, urls: string[], headers: Record<string, string>) {
  const bodies = await Promise.all(
    urls.map(async (url) => Buffer.from(await (await fetch(`${origin}${url}`, { headers })).arrayBuffer())),
  );
  const documents = bodies.map((body) => JSON.parse(body.toString('utf8')) as unknown);
  const time = (fn: (i: number) => void) => {
    const started = process.hrtime.bigint();
    for (let round = 0; round < 20; round++) for (let i = 0; i < bodies.length; i++) fn(i);
    return Number(process.hrtime.bigint() - started) / 1e3 / (20 * bodies.length);
  };
  time((i) => patientsInBody(bodies[i].toString('utf8'), 'application/fhir+json')); // warm-up
  const parsed = time((i) => patientsInBody(bodies[i].toString('utf8'), 'application/fhir+json'));
  const walked = time((i) => patientsInDocument(documents[i]));
  return {
    'body bytes mean': Math.round(bodies.reduce((sum, b) => sum + b.length, 0) / bodies.length),
    'parse body us': round(parsed, 1),
    'walk document us': round(walked, 1),
    'walk/parse': round(walked / parsed, 3),
  };
}

async function commitLatency(pool: Pool): Promise<number> {
  const connection = await pool.connect();
  try {
    await connection.query('SET synchronous_commit = on');
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = process.hrtime.bigint();
      // A temporary table writes no WAL: the probe commits a row of the audit's own chain table instead.
      await connection.query('UPDATE audit.chain SET head_seq = head_seq WHERE id = 1');
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return percentile(
      times.sort((x, y) => x - y),
      50,
    );
  } finally {
    connection.release();
  }
}

interface Run {
  client: number[];
  server: number[];
  seconds: number;
}

async function measure(app: INestApplication, urls: string[], headers: Record<string, string>): Promise<Run> {
  const started = process.hrtime.bigint();
  const { client, server } = await latency(app, urls, CLIENTS, REQUESTS, undefined, 0, { headers });
  return { client, server, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** The rounds together: percentiles over every request, throughput over their summed time. */
function merge(runs: Run[]) {
  const sorted = (values: number[]) => values.sort((x, y) => x - y);
  const client = sorted(runs.flatMap((r) => r.client));
  const server = sorted(runs.flatMap((r) => r.server));
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  return {
    p50: percentile(client, 50),
    p99: percentile(client, 99),
    serverP50: percentile(server, 50),
    rate: client.length / seconds,
  };
}
