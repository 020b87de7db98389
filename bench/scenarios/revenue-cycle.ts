import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { EventStoreRuntime } from '@fa/event-store';
import { FHIR_STORE_PROJECTION } from '@fa/fhir-store';
import { aggregateIdOf, FileIngestionService } from '@fa/ingestion';
import { CLAIM_LINE_VIEW, DUPLICATE_CLAIM_DETECTOR } from '@fa/revenue-cycle';
import { generateDuplicateClaims } from '@fa/testkit';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { type Dataset, freshDatabase, openRuntime } from '../support/datasets';
import { latency, originOf, settle } from '../support/load';
import { percentile, record, round } from '../support/results';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TYPES = ['Patient', 'Claim', 'ExplanationOfBenefit'];

/**
 * Revenue Cycle: claims through duplicate-claim detection live (baseline: the fhir-store projection on the same
 * ingest), the rebuild of every materialized view (baseline: the fhir-store rebuild of the same log), `$run`
 * rows streamed (baseline: the materialized view read with SQL) and as-of view queries (baseline: now).
 */
export async function revenueCycle(serverUrl: string, data: Dataset, label: string) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bench-claims-'));
  const read = async (type: string) =>
    (await fs.readFile(path.join(data.dir, `${type}.ndjson`), 'utf8'))
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Json);
  const [patients, claims] = [await read('Patient'), await read('Claim')];
  for (const type of TYPES)
    await fs.copyFile(path.join(data.dir, `${type}.ndjson`), path.join(dir, `${type}.ndjson`));
  const second = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bench-claims-b-'));
  const generated = generateDuplicateClaims({ claims, patients });
  for (const [type, rows] of [
    ['Patient', generated.patients],
    ['Claim', generated.claims],
  ] as const) {
    await fs.writeFile(
      path.join(second, `${type}.ndjson`),
      rows.map((r) => JSON.stringify(r)).join('\n') + '\n',
    );
  }

  const runtime = await openRuntime(await freshDatabase(serverUrl));
  // Measured without tokens, as the other store benches: the auth scenario measures what the checks add.
  const app = await createAggregatorApp(runtime, { auth: { enabled: false } });
  await app.init();
  await runtime.runner.start();
  try {
    const first = await timedIngest(app, runtime, 'synthea', dir);
    record(`revenue-cycle ${label}: claims through duplicate detection live (first source)`, {
      claims: claims.length,
      claimsPerSecond: Math.round(claims.length / first.seconds[DUPLICATE_CLAIM_DETECTOR]),
      baselineFhirStoreResourcesPerSecond: Math.round(first.resources / first.seconds[FHIR_STORE_PROJECTION]),
      ratioDetectorToFhirStoreSeconds: round(
        first.seconds[DUPLICATE_CLAIM_DETECTOR] / first.seconds[FHIR_STORE_PROJECTION],
        2,
      ),
    });
    const between = new Date();
    const secondIngest = await timedIngest(app, runtime, 'clearinghouse', second);
    const findings = await runtime.database.pool.query<{ kind: string; n: number }>(
      `SELECT kind, count(*)::int AS n FROM revenue_cycle.findings WHERE recorded_to IS NULL GROUP BY kind ORDER BY kind`,
    );
    record(`revenue-cycle ${label}: a second source with seeded duplicates`, {
      claims: generated.claims.length,
      claimsPerSecond: Math.round(generated.claims.length / secondIngest.seconds[DUPLICATE_CLAIM_DETECTOR]),
      ratioDetectorToFhirStoreSeconds: round(
        secondIngest.seconds[DUPLICATE_CLAIM_DETECTOR] / secondIngest.seconds[FHIR_STORE_PROJECTION],
        2,
      ),
      ...Object.fromEntries(findings.rows.map((r) => [`${r.kind}Findings`, r.n])),
    });

    const views = await timedRebuild(runtime, 'analytics-views');
    const store = await timedRebuild(runtime, FHIR_STORE_PROJECTION);
    const [{ rows: viewRows }] = (
      await runtime.database.pool.query<{ rows: number }>(
        'SELECT count(*)::int AS rows FROM analytics.view_rows',
      )
    ).rows;
    const [{ versions }] = (
      await runtime.database.pool.query<{ versions: number }>(
        'SELECT count(*)::int AS versions FROM fhir_store.resource_versions',
      )
    ).rows;
    record(`revenue-cycle ${label}: rebuild of every materialized view`, {
      viewRows,
      viewRowsPerSecond: Math.round(viewRows / views),
      baselineFhirStoreVersionsPerSecond: Math.round(versions / store),
      ratioToFhirStoreRebuild: round(viewRows / views / (versions / store), 3),
    });

    await settle(runtime);
    const streamed = await runView(app);
    const sqlStarted = process.hrtime.bigint();
    const sqlRows = (await runtime.database.pool.query('SELECT * FROM analytics.claim_line()')).rowCount ?? 0;
    const sqlSeconds = Number(process.hrtime.bigint() - sqlStarted) / 1e9;
    record(`revenue-cycle ${label}: $viewdefinition-run streamed (claim_line, ndjson)`, {
      rows: streamed.rows,
      rowsPerSecond: Math.round(streamed.rows / streamed.seconds),
      baselineMaterializedSqlRowsPerSecond: Math.round(sqlRows / sqlSeconds),
      ratioToMaterialized: round(streamed.rows / streamed.seconds / (sqlRows / sqlSeconds), 3),
    });

    const ids = patients.slice(0, 50).map((p) => aggregateIdOf('synthea', 'Patient', p.id));
    const figures: Record<string, number> = {};
    for (const [name, asOf] of [
      ['now', undefined],
      ['asOf', between.toISOString()],
    ] as const) {
      const times: number[] = [];
      for (let round = 0; round < 4; round++) {
        for (const id of ids) {
          const t = process.hrtime.bigint();
          await runtime.database.pool.query('SELECT * FROM analytics.claim($1) WHERE patient_id = $2', [
            asOf ?? null,
            id,
          ]);
          times.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
      }
      times.sort((a, b) => a - b);
      figures[`sql ${name} p50 ms`] = round(percentile(times, 50), 2);
      figures[`sql ${name} p99 ms`] = round(percentile(times, 99), 2);
      const urls = ids.map((id) => `/revenue-cycle/patients/${id}/claims${asOf ? `?_asOf=${asOf}` : ''}`);
      const { client } = await latency(app, urls, 4, 200);
      figures[`http ${name} p50 ms`] = round(percentile(client, 50), 2);
      figures[`http ${name} p99 ms`] = round(percentile(client, 99), 2);
    }
    figures['ratio sql asOf/now p99'] = round(figures['sql asOf p99 ms'] / figures['sql now p99 ms'], 2);
    record(
      `revenue-cycle ${label}: a patient's claims from the claim view, as of an instant vs now`,
      figures,
    );
  } finally {
    await app.close();
    await runtime.close();
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(second, { recursive: true, force: true });
  }
}

/** Ingests a folder and returns, per projection, the seconds from the start until it had applied all of it. */
async function timedIngest(app: INestApplication, runtime: EventStoreRuntime, source: string, dir: string) {
  const started = process.hrtime.bigint();
  const seconds: Record<string, number> = {};
  const result = await app.get(FileIngestionService).ingest(source, [dir], { ingestionInstance: 'bench' });
  for (;;) {
    const status = await runtime.runner.status();
    const now = Number(process.hrtime.bigint() - started) / 1e9;
    for (const p of status) if (p.lag === 0 && seconds[p.name] === undefined) seconds[p.name] = now;
    if (status.every((p) => seconds[p.name] !== undefined)) {
      // A process manager's decisions are more log: done only when nobody lags after them either.
      const again = await runtime.runner.status();
      if (again.every((p) => p.lag === 0)) break;
      for (const p of again) if (p.lag !== 0) delete seconds[p.name];
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { resources: result.recorded, seconds };
}

async function timedRebuild(runtime: EventStoreRuntime, name: string): Promise<number> {
  const started = process.hrtime.bigint();
  const status = await runtime.runner.rebuild(name);
  if (status.rebuild?.state !== 'swapped') throw new Error(`${name}: rebuild ${status.rebuild?.state}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function runView(app: INestApplication): Promise<{ rows: number; seconds: number }> {
  const origin = await originOf(app);
  const started = process.hrtime.bigint();
  const response = await fetch(`${origin}/fhir/ViewDefinition/$viewdefinition-run?_format=ndjson`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Parameters',
      parameter: [{ name: 'viewResource', resource: CLAIM_LINE_VIEW }],
    }),
  });
  if (!response.ok) throw new Error(`$viewdefinition-run: ${response.status} ${await response.text()}`);
  const text = await response.text();
  return {
    rows: text.split('\n').filter((l) => l.trim()).length,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}
