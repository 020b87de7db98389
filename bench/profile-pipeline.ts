import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { Client } from 'pg';
import { FHIR_STORE_PROJECTION } from '@fa/fhir-store';
import { FileIngestionService } from '@fa/ingestion';
import { ensureEmbeddedPostgres } from '@fa/platform';
import { createAggregatorApp } from '../apps/aggregator/src';
import { openAggregatorRuntime } from '@fa/composition';
import { createEmptyDatabase } from '@fa/testkit';

/**
 * Where the pipeline's time goes: for each phase (append by the file source, drain of every projection, replay
 * of fhir-store) the wall time and the CPU seconds of this process and of PostgreSQL (every postgres process on
 * the machine, read from /proc, so run it on a quiet machine). Run with node --cpu-prof for a V8 profile.
 */
function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, and the same for children that have exited (the postmaster's reaped backends).
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // The process exited between the listing and the read.
    }
  }
  return ticks / 100;
}

function sample() {
  const cpu = process.cpuUsage();
  return { at: process.hrtime.bigint(), node: (cpu.user + cpu.system) / 1e6, postgres: postgresCpuSeconds() };
}

function report(phase: string, before: ReturnType<typeof sample>, resources: number) {
  const after = sample();
  const wall = Number(after.at - before.at) / 1e9;
  const node = after.node - before.node;
  const postgres = after.postgres - before.postgres;
  console.log(
    JSON.stringify({
      phase,
      resources,
      wallSeconds: Number(wall.toFixed(1)),
      resourcesPerSecond: Math.round(resources / wall),
      nodeCpuSeconds: Number(node.toFixed(1)),
      postgresCpuSeconds: Number(postgres.toFixed(1)),
      nodeMicrosecondsPerResource: Math.round((node / resources) * 1e6),
      postgresMicrosecondsPerResource: Math.round((postgres / resources) * 1e6),
      coresBusy: Number(((node + postgres) / wall).toFixed(2)),
    }),
  );
}

async function main() {
  const options = new Command('profile-pipeline')
    .option(
      '--data <dir>',
      'NDJSON dataset',
      path.resolve(__dirname, '..', '..', 'shared', 'data', 'synthea-79'),
    )
    .option('--phases <list>', 'append,drain,replay', 'append,drain,replay')
    .parse(process.argv)
    .opts<{ data: string; phases: string }>();
  const phases = new Set(options.phases.split(','));
  const server =
    process.env.BENCH_DATABASE_URL ??
    (await ensureEmbeddedPostgres(path.join(__dirname, '..', '.bench-data'))).connectionString;
  const database = await createEmptyDatabase(server, 'profile');
  const runtime = await openAggregatorRuntime({ databaseUrl: database.url, dataDir: '' }, { poolSize: 12 });
  const app = await createAggregatorApp(runtime);
  await app.init();
  let before = sample();
  const summary = await app
    .get(FileIngestionService)
    .ingest('profile', [options.data], { ingestionInstance: 'profile' });
  if (phases.has('append')) report('append (file source)', before, summary.recorded);
  before = sample();
  await runtime.runner.drain();
  if (phases.has('drain')) report('drain (every projection)', before, summary.recorded);
  if (phases.has('replay')) {
    before = sample();
    await runtime.runner.rebuild(FHIR_STORE_PROJECTION);
    report('replay (fhir-store)', before, summary.recorded);
  }
  await app.close();
  await runtime.close();
  const admin = new Client({ connectionString: server });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database.name} WITH (FORCE)`);
  await admin.end();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
