import 'reflect-metadata';
import * as path from 'node:path';
import { Command } from 'commander';
import { ensureEmbeddedPostgres } from '@fa/platform';
import { identityThroughPipeline, SPLINK_FEBRL3_F1 } from './identity-pipeline';
import { auth } from './scenarios/auth';
import { ceiling } from './scenarios/ceiling';
import { clinical } from './scenarios/clinical';
import { auditOverhead } from './scenarios/audit';
import { exportScenario } from './scenarios/export';
import { bulkSync } from './scenarios/bulk-sync';
import { ingestFile } from './scenarios/ingest-file';
import { ingestKafka } from './scenarios/ingest-kafka';
import { readsAndReplay } from './scenarios/reads';
import { revenueCycle } from './scenarios/revenue-cycle';
import { search } from './scenarios/search';
import { soak } from './scenarios/soak';
import { freshDatabase, scaledCopy } from './support/datasets';
import { record, REPO, round, writeResults } from './support/results';

/**
 * Benchmarks (never tests): each prints figures with a baseline measured in the same run, as a table and as
 * JSON lines appended to bench/results/results.jsonl. Run: npm run bench -- [--scenarios a,b] [--scale n].
 * One file per scenario in bench/scenarios/; what they share in bench/support/.
 */
async function main() {
  const program = new Command('bench')
    .option(
      '--scenarios <list>',
      'ceiling,ingest-file,ingest-kafka,reads,search,auth,identity,revenue-cycle,clinical,audit,export,bulk-sync (reads includes replay); soak (not in the default)',
      'ceiling,ingest-file,ingest-kafka,reads,search,auth,identity,revenue-cycle,clinical,audit,bulk-sync',
    )
    .option('--scale <list>', 'dataset multiples for ingest-file, revenue-cycle and export, e.g. 1,10', '1')
    .option('--seed <n>', 'seed of the date shifts of scaled copies', '1')
    .option('--data <dir>', 'NDJSON dataset', path.resolve(REPO, '..', 'shared', 'data', 'synthea-79'))
    .option(
      '--other-source <dir>',
      'clinical: a second export with no overlap',
      path.resolve(REPO, '..', 'shared', 'data', 'synthea-13'),
    )
    .option('--soak-seconds <n>', 'how long soak runs', '60')
    .option('--soak-rate <n>', 'soak: operations per second of each kind', '10')
    .option('--identity-datasets <list>', 'identity: only these datasets (e.g. febrl3,febrl3-link)')
    .parse(process.argv);
  const options = program.opts<{
    scenarios: string;
    scale: string;
    seed: string;
    data: string;
    otherSource: string;
    soakSeconds: string;
    soakRate: string;
    identityDatasets?: string;
  }>();
  const scenarios = new Set(options.scenarios.split(','));
  const scales = options.scale.split(',').map(Number);
  const serverUrl =
    process.env.BENCH_DATABASE_URL ??
    (await ensureEmbeddedPostgres(path.join(REPO, '.bench-data'))).connectionString;
  // The audit's cost is per request, not per stored resource: the small sample is enough, and runs alone fast.
  if (scenarios.delete('audit')) {
    await auditOverhead(serverUrl, path.join(REPO, 'test', 'fixtures', 'synthea-2-patients'));
    if (scenarios.size === 0) {
      await writeResults();
      process.exit(0);
    }
  }
  if (scenarios.delete('soak')) {
    await soak(serverUrl, path.join(REPO, 'test', 'fixtures', 'synthea-2-patients'), {
      seconds: Number(options.soakSeconds),
      ratePerSecond: Number(options.soakRate),
    });
    // Soak alone needs neither the dataset copy nor the COPY ceiling.
    if (scenarios.size === 0) {
      await writeResults();
      process.exit(0);
    }
  }
  if (scenarios.has('identity')) {
    const only = options.identityDatasets?.split(',');
    for (const row of await identityThroughPipeline(() => freshDatabase(serverUrl), only)) {
      const { dataset, ...figures } = row;
      record(`identity ${dataset}`, {
        ...Object.fromEntries(
          Object.entries(figures).map(([k, v]) => [k, round(v, k.endsWith('PerSecond') ? 0 : 4)]),
        ),
        ...(dataset === 'febrl3' ? { splinkBatchF1: SPLINK_FEBRL3_F1 } : {}),
      });
    }
    scenarios.delete('identity');
  }
  // The identity scenarios need neither the dataset copy nor the COPY ceiling.
  if (scenarios.size === 0) {
    await writeResults();
    process.exit(0);
  }
  const base = await scaledCopy(options.data, 1);
  console.log(
    `dataset ${options.data}: ${base.resources} resources, ${round(base.bytes / 1024 / 1024)} MB uncompressed`,
  );
  const ceilingRate = await ceiling(serverUrl, base);
  if (scenarios.has('ingest-file')) {
    for (const scale of scales) {
      const data = scale === 1 ? base : await scaledCopy(options.data, scale, Number(options.seed));
      await ingestFile(serverUrl, data, ceilingRate, `${scale}x`);
    }
  }
  if (scenarios.has('ingest-kafka')) {
    await ingestKafka(serverUrl, base, ceilingRate, false);
    await ingestKafka(serverUrl, base, ceilingRate, true);
  }
  if (scenarios.has('reads')) await readsAndReplay(serverUrl, base);
  if (scenarios.has('search')) await search(serverUrl, base);
  if (scenarios.has('auth')) await auth(serverUrl, base);
  if (scenarios.has('revenue-cycle')) {
    for (const scale of scales) {
      const data = scale === 1 ? base : await scaledCopy(options.data, scale, Number(options.seed));
      await revenueCycle(serverUrl, data, `${scale}x`);
    }
  }
  if (scenarios.has('clinical')) await clinical(serverUrl, options.data, options.otherSource);
  if (scenarios.has('export')) {
    for (const scale of scales) {
      const data = scale === 1 ? base : await scaledCopy(options.data, scale, Number(options.seed));
      await exportScenario(serverUrl, data, ceilingRate, `${scale}x`);
    }
  }
  if (scenarios.has('bulk-sync')) await bulkSync(serverUrl, base);
  await writeResults();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
