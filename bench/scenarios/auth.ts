import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { signClientAssertion, tokenRequestForm } from '@fa/access';
import { aggregateIdOf, FileIngestionService } from '@fa/ingestion';
import { registerServiceClient } from '@fa/testkit';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { freshDatabase, openRuntime } from '../support/datasets';
import { latency, originOf, settle } from '../support/load';
import { percentile, record, round } from '../support/results';

const CONCURRENCY = 8;
const REQUESTS = 2000;
const GRANTS = 1000;

/**
 * What the access checks cost: reads and searches at 8 clients against two HTTP apps on one store, one with
 * tokens required (AUTH on, as `npm start`) and one with AUTH=off, measured alternately in the same run
 * (off, on, off, on: drift of a shared machine falls on both); and the token endpoint's grants per second
 * (assertions signed beforehand, so only the server's work is timed).
 */
export async function auth(serverUrl: string, data: { dir: string }) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  const on = await createAggregatorApp(runtime, { auth: { enabled: true } });
  const off = await createAggregatorApp(runtime, { auth: { enabled: false } });
  await on.init();
  await off.init();
  await runtime.runner.start();
  await on.get(FileIngestionService).ingest('bench', [data.dir], { ingestionInstance: 'bench' });
  await runtime.runner.waitForCatchUp();
  await settle(runtime);

  const patients = (await fs.readFile(path.join(data.dir, 'Patient.ndjson'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .slice(0, 200)
    .map((l) => aggregateIdOf('bench', 'Patient', (JSON.parse(l) as { id: string }).id));
  const origin = await originOf(on);
  const client = await registerServiceClient(runtime.database.pool, 'bench-auth', 'system/*.rs');
  const headers = { authorization: `Bearer ${await client.token(origin)}` };
  const workloads: [string, string[]][] = [
    ['read Patient/<id>', patients.map((id) => `/fhir/Patient/${id}`)],
    [
      'search Observation?subject=&_count=10',
      patients.map((id) => `/fhir/Observation?subject=Patient/${id}&_count=10`),
    ],
  ];
  for (const [label, urls] of workloads) {
    const runs: Record<'on' | 'off', { client: number[]; server: number[]; perSecond: number[] }> = {
      on: { client: [], server: [], perSecond: [] },
      off: { client: [], server: [], perSecond: [] },
    };
    for (const mode of ['off', 'on', 'off', 'on'] as const) {
      const started = process.hrtime.bigint();
      const timed = await latency(
        mode === 'on' ? on : off,
        urls,
        CONCURRENCY,
        REQUESTS / 2,
        24 * 3600_000,
        0,
        {
          headers: mode === 'on' ? headers : undefined,
        },
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      runs[mode].client.push(...timed.client);
      runs[mode].server.push(...timed.server);
      runs[mode].perSecond.push(timed.client.length / seconds);
    }
    const figures: Record<string, number> = {};
    for (const mode of ['off', 'on'] as const) {
      const sorted = runs[mode].client.sort((a, b) => a - b);
      figures[`${mode} c${CONCURRENCY} p50 ms`] = round(percentile(sorted, 50), 2);
      figures[`${mode} c${CONCURRENCY} p99 ms`] = round(percentile(sorted, 99), 2);
      figures[`${mode} server p50 ms`] = round(
        percentile(
          runs[mode].server.sort((a, b) => a - b),
          50,
        ),
        3,
      );
      figures[`${mode} requests/s`] = Math.round(runs[mode].perSecond.reduce((a, b) => a + b, 0) / 2);
    }
    figures['p50 added ms'] = round(
      figures[`on c${CONCURRENCY} p50 ms`] - figures[`off c${CONCURRENCY} p50 ms`],
      2,
    );
    figures['throughput on/off'] = round(figures['on requests/s'] / figures['off requests/s'], 3);
    record(`auth: ${label}, AUTH on vs AUTH=off (same run)`, figures);
  }

  // Baseline in the same run: the HTTP stack's own rate on a route that does nothing (GET /health).
  const healthStarted = process.hrtime.bigint();
  const health = await latency(on, ['/health'], CONCURRENCY, GRANTS);
  const healthPerSecond = health.client.length / (Number(process.hrtime.bigint() - healthStarted) / 1e9);
  // Grants: every POST a fresh assertion (its jti once), from the load thread, 8 at a time.
  const tokenUrl = `${origin}/auth/token`;
  for (const alg of ['RS384', 'ES384'] as const) {
    const granted = await registerServiceClient(runtime.database.pool, `bench-${alg}`, 'system/*.rs', alg);
    const posts = await Promise.all(
      Array.from({ length: GRANTS }, async () => ({
        url: '/auth/token',
        contentType: 'application/x-www-form-urlencoded',
        body: new URLSearchParams(
          tokenRequestForm(
            await signClientAssertion({
              clientId: granted.clientId,
              tokenUrl,
              privateJwk: granted.keys.privateJwk,
            }),
            'system/*.rs',
          ),
        ).toString(),
      })),
    );
    const started = process.hrtime.bigint();
    const grants = await latency(on, [], CONCURRENCY, GRANTS, 24 * 3600_000, 0, { posts });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    record(`auth: POST /auth/token (${alg} assertion, ES256 token)`, {
      grants: grants.client.length,
      'grants/s': Math.round(grants.client.length / seconds),
      'baseline GET /health requests/s': Math.round(healthPerSecond),
      'grants/s over baseline': round(grants.client.length / seconds / healthPerSecond, 3),
      [`c${CONCURRENCY} p50 ms`]: round(percentile(grants.client, 50), 2),
      [`c${CONCURRENCY} p99 ms`]: round(percentile(grants.client, 99), 2),
    });
  }
  await on.close();
  await off.close();
  await runtime.close();
}
