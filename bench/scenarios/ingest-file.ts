import { createAggregatorApp } from '../../apps/aggregator/src';
import { Dataset, freshDatabase, openRuntime } from '../support/datasets';
import { runCliIngest } from '../support/processes';
import { record, round } from '../support/results';

export async function ingestFile(serverUrl: string, data: Dataset, ceilingRate: number, label: string) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  // As deployed: `npm run cli -- ingest` in its own process appends while the service's projections follow
  // the log (this process plays the service). The clock starts when the CLI is launched.
  const context = await createAggregatorApp(runtime);
  await context.init();
  await runtime.runner.start();
  const started = process.hrtime.bigint();
  const cli = await runCliIngest(url, data.dir);
  await runtime.runner.waitForCatchUp(60 * 60_000);
  const queryable = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = { recorded: cli.recorded };
  record(`ingest-file ${label}: cli ingest process while the service's projections follow`, {
    resources: summary.recorded,
    appendResourcesPerSecond: cli.appendPerSecond,
    endToEndResourcesPerSecond: Math.round(summary.recorded / queryable),
    mbPerSecond: round(data.bytes / 1024 / 1024 / queryable, 2),
    ratioToCopyCeiling: round(summary.recorded / queryable / ceilingRate, 3),
    secondsToQueryable: round(queryable, 1),
  });
  await context.close();
  await runtime.close();
}
