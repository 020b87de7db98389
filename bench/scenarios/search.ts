import { promises as fs } from 'node:fs';
import type { Pool } from 'pg';
import * as path from 'node:path';
import { aggregateIdOf, FileIngestionService } from '@fa/ingestion';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { freshDatabase, openRuntime, twoPhases } from '../support/datasets';
import { answerSize, deepPage, latency, originOf, settle } from '../support/load';
import { percentile, record, round } from '../support/results';

export async function search(serverUrl: string, data: { dir: string; resources: number }) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  // Measured without tokens, as before the access checks: the auth scenario measures what they add.
  const app = await createAggregatorApp(runtime, { auth: { enabled: false } });
  await app.init();
  await runtime.runner.start();
  const phases = await twoPhases(data.dir);
  const files = app.get(FileIngestionService);
  const ingestStarted = process.hrtime.bigint();
  await files.ingest('bench', [phases.first], { ingestionInstance: 'bench' });
  await runtime.runner.waitForCatchUp();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const middle = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 10));
  await files.ingest('bench', [phases.second], { ingestionInstance: 'bench' });
  await runtime.runner.waitForCatchUp();
  const ingestSeconds = Number(process.hrtime.bigint() - ingestStarted) / 1e9;
  await settle(runtime);

  // Query values from the data: the commonest Observation codes, patient family names, the largest patient.
  const lines = async (type: string) =>
    (await fs.readFile(path.join(data.dir, `${type}.ndjson`), 'utf8')).split('\n').filter((l) => l.trim());
  const codeCounts = new Map<string, number>();
  for (const line of await lines('Observation')) {
    const coding = (JSON.parse(line) as { code: { coding: { system: string; code: string }[] } }).code
      .coding[0];
    const token = `${coding.system}|${coding.code}`;
    codeCounts.set(token, (codeCounts.get(token) ?? 0) + 1);
  }
  // Composite values: the commonest codes with a Quantity, each above its median value.
  const quantities = new Map<string, number[]>();
  for (const line of await lines('Observation')) {
    const o = JSON.parse(line) as {
      code: { coding: { system: string; code: string }[] };
      valueQuantity?: { value: number };
    };
    if (!o.valueQuantity) continue;
    const token = `${o.code.coding[0].system}|${o.code.coding[0].code}`;
    quantities.set(token, [...(quantities.get(token) ?? []), o.valueQuantity.value]);
  }
  const composites = [...quantities]
    .sort((a, b) => b[1].length - a[1].length)
    .slice(0, 8)
    .map(([token, values]) => {
      const median = [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
      return encodeURIComponent(`${token}$gt${median}`);
    });
  const codes = [...codeCounts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([token]) => encodeURIComponent(token));
  const patients = (await lines('Patient')).map(
    (l) => JSON.parse(l) as { id: string; name: { family: string }[] },
  );
  const patientIds = patients.map((p) => aggregateIdOf('bench', 'Patient', p.id));
  const families = patients.slice(0, 20).map((p) => encodeURIComponent(p.name[0].family.slice(0, 4)));
  const perPatient = new Map<string, number>();
  for (const name of (await fs.readdir(data.dir)).filter((n) => n.endsWith('.ndjson'))) {
    for (const line of await lines(name.replace('.ndjson', ''))) {
      for (const id of new Set([...line.matchAll(/"reference":"Patient\/([^"]+)"/g)].map((m) => m[1]))) {
        perPatient.set(id, (perPatient.get(id) ?? 0) + 1);
      }
    }
  }
  const [largest, largestCount] = [...perPatient].sort((a, b) => b[1] - a[1])[0];
  const largestId = aggregateIdOf('bench', 'Patient', largest);
  const years = Array.from({ length: 12 }, (_, i) => 2010 + i);

  const origin = await originOf(app);
  const asOf = (u: string) => `${u}${u.includes('?') ? '&' : '?'}_asOf=${encodeURIComponent(middle)}`;
  const searches: [string, (at?: string) => Promise<string[]>][] = [
    ['token Observation?code= (8 codes)', async () => codes.map((c) => `/fhir/Observation?code=${c}`)],
    [
      'date range Encounter?date=ge..&date=lt.. (a year)',
      async () => years.map((y) => `/fhir/Encounter?date=ge${y}-01-01&date=lt${y + 1}-01-01`),
    ],
    [
      'string Patient?name= (4-letter family prefix)',
      async () => families.map((f) => `/fhir/Patient?name=${f}`),
    ],
    [
      'chain Observation?patient.identifier=<source>|<id>',
      async () =>
        patients
          .slice(0, 20)
          .map(
            (p) =>
              `/fhir/Observation?patient.identifier=${encodeURIComponent(`urn:fhir-aggregator:source:bench|${p.id}`)}`,
          ),
    ],
    [
      'chain (2 levels) Observation?encounter.subject.family=',
      async () => families.map((f) => `/fhir/Observation?encounter.subject.family=${f}`),
    ],
    [
      '_has Patient?_has:Observation:patient:code= (8 codes)',
      async () => codes.map((c) => `/fhir/Patient?_has:Observation:patient:code=${c}`),
    ],
    [
      'composite Observation?code-value-quantity=<code>$gt<median>',
      async () => composites.map((c) => `/fhir/Observation?code-value-quantity=${c}`),
    ],
    [
      'reference Observation?subject=&_include=Observation:encounter',
      async () =>
        patientIds
          .slice(0, 20)
          .map((id) => `/fhir/Observation?subject=Patient/${id}&_include=Observation:encounter`),
    ],
    [
      '_sort Observation?code=&_sort=-date',
      async () => codes.map((c) => `/fhir/Observation?code=${c}&_sort=-date`),
    ],
    [
      'paged Observation?code= page 10 of 20 (via next links)',
      async (at) =>
        Promise.all(
          codes.slice(0, 4).map((c) => {
            const first = `/fhir/Observation?code=${c}&_count=20`;
            return deepPage(origin, at ? asOf(first) : first, 10);
          }),
        ),
    ],
    [
      `Patient/$everything, largest patient (${largestCount} resources), first page`,
      async () => [`/fhir/Patient/${largestId}/$everything`],
    ],
    [
      `Patient/$everything, largest patient, _count=1000`,
      async () => [`/fhir/Patient/${largestId}/$everything?_count=1000`],
    ],
  ];
  record('search: dataset in two ingests; _asOf = between them', {
    firstIngestVersions: phases.versions[0],
    secondIngestVersions: phases.versions[1],
    secondsToQueryable: round(ingestSeconds, 1),
    asOf: middle,
    largestPatientResources: largestCount,
  });
  const baseline: Record<string, number> = {};
  for (const [label, urlsFor] of searches) {
    const figures: Record<string, number> = {};
    for (const at of [undefined, middle]) {
      // The paged URLs come from next links, which carry the first page's _asOf already.
      const urls = label.startsWith('paged')
        ? await urlsFor(at)
        : (await urlsFor()).map((u) => (at ? asOf(u) : u));
      const prefix = at ? 'asOf ' : '';
      const size = await answerSize(origin, urls[0]);
      figures[`${prefix}entries (first url)`] = size.entries;
      if (size.total !== undefined) figures[`${prefix}total (first url)`] = size.total;
      for (const concurrency of [1, 8]) {
        const started = process.hrtime.bigint();
        const { client: t, server } = await latency(app, urls, concurrency, 500, 1000, 16);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        figures[`${prefix}c${concurrency} p50 ms`] = round(percentile(t, 50), 2);
        figures[`${prefix}c${concurrency} p95 ms`] = round(percentile(t, 95), 2);
        figures[`${prefix}c${concurrency} p99 ms`] = round(percentile(t, 99), 2);
        figures[`${prefix}c${concurrency} server p99 ms`] = round(percentile(server, 99), 2);
        figures[`${prefix}c${concurrency} requests/s`] = Math.round(t.length / seconds);
        figures[`${prefix}c${concurrency} requests timed`] = t.length;
        // Chains, _has and composites against the plain token search of the same run (target: within 2x).
        const p95 = percentile(t, 95);
        if (label.startsWith('token')) baseline[`${prefix}c${concurrency}`] = p95;
        else if (/^(chain|_has|composite)/.test(label))
          figures[`${prefix}c${concurrency} p95 / token p95`] = round(
            p95 / baseline[`${prefix}c${concurrency}`],
            2,
          );
      }
    }
    record(`search: ${label}`, figures);
  }
  record(
    'search: composite layout, tuples vs a join of component rows of one element',
    await compositeLayouts(runtime.database.pool, composites.map(decodeURIComponent)),
  );
  await app.close();
  await runtime.close();
}

/**
 * The composite index is one row per tuple (search_composite). The alternative, component rows of one element
 * joined at search time, is built here from the same tuples (one row per component and element) and both are
 * timed on the same code-value-quantity queries, the planner warm, one client.
 */
async function compositeLayouts(pool: Pool, values: string[]): Promise<Record<string, number>> {
  const db = await pool.connect();
  try {
    await db.query(`CREATE TEMP TABLE component_rows AS
      SELECT c.vkey, c.resource_type, c.param, c.elem, p.i, p.system, p.code, p.value
        FROM (SELECT *, row_number() OVER () AS elem FROM fhir_store.search_composite WHERE param = 'code-value-quantity') c
        CROSS JOIN LATERAL (VALUES (0, c.c0_system, c.c0_code, NULL::numeric), (1, c.c1_system, c.c1_code, c.c1_value))
          AS p(i, system, code, value)`);
    await db.query('CREATE INDEX ON component_rows (resource_type, param, i, code, system)');
    await db.query('CREATE INDEX ON component_rows (vkey, elem, i)');
    await db.query('ANALYZE component_rows');
    const queries = values.map((value) => {
      const [token, number] = value.split('$');
      const [system, code] = token.split('|');
      return [system, code, number.replace(/^gt/, '')];
    });
    const tuple = `SELECT count(*) FROM fhir_store.resource_versions v WHERE v.resource_type = 'Observation' AND v.recorded_to IS NULL
      AND v.position_gp IN (SELECT s.vkey FROM fhir_store.search_composite s WHERE s.resource_type = 'Observation'
        AND s.param = 'code-value-quantity' AND s.c0_code = $2 AND s.c0_system = $1 AND s.c1_value > $3::numeric)`;
    const joined = `SELECT count(*) FROM fhir_store.resource_versions v WHERE v.resource_type = 'Observation' AND v.recorded_to IS NULL
      AND v.position_gp IN (SELECT a.vkey FROM component_rows a JOIN component_rows b ON b.vkey = a.vkey AND b.elem = a.elem AND b.i = 1
        WHERE a.resource_type = 'Observation' AND a.param = 'code-value-quantity' AND a.i = 0 AND a.code = $2 AND a.system = $1
          AND b.value > $3::numeric)`;
    const time = async (sql: string) => {
      const timings: number[] = [];
      for (let round = 0; round < 25; round++) {
        for (const params of queries) {
          const started = process.hrtime.bigint();
          await db.query(sql, params);
          timings.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
      }
      return timings.sort((a, b) => a - b);
    };
    const counts = async (sql: string) =>
      Promise.all(queries.map(async (params) => Number((await db.query(sql, params)).rows[0].count)));
    if (JSON.stringify(await counts(tuple)) !== JSON.stringify(await counts(joined)))
      throw new Error('bench bug: the two composite layouts disagree');
    const tuples = await time(tuple);
    const rows = await time(joined);
    return {
      'tuples p50 ms': round(percentile(tuples, 50), 2),
      'tuples p95 ms': round(percentile(tuples, 95), 2),
      'component join p50 ms': round(percentile(rows, 50), 2),
      'component join p95 ms': round(percentile(rows, 95), 2),
      'component join p95 / tuples p95': round(percentile(rows, 95) / percentile(tuples, 95), 2),
    };
  } finally {
    await db.query('DROP TABLE IF EXISTS component_rows');
    db.release();
  }
}
