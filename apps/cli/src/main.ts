import 'reflect-metadata';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { RegisterViewCommand, ViewDefinitionError } from '@fa/analytics';
import { openAggregatorRuntime } from '@fa/composition';
import type { EventStoreRuntime } from '@fa/event-store';
import { parseReference } from '@fa/fhir';
import {
  FitIdentityModelQuery,
  formatLevelWeights,
  identityModelVersion,
  levelWeightsOf,
} from '@fa/patient-identity';
import { lineageJsonOf, ResourceLineageQuery } from '@fa/fhir-store';
import { FileIngestionService, publishFiles, SOURCE_NAME_PATTERN } from '@fa/ingestion';
import { readConfig, sqlStateOf } from '@fa/platform';
import { CliModule } from './cli.module';
import { clientsCommand } from './clients.command';
import { auditCommand } from './audit.command';
import { eventStoreCommand } from './event-store-copy.command';
import { bulkSyncCommand } from './bulk-sync.command';

async function withContext<T>(
  fn: (runtime: EventStoreRuntime, context: INestApplicationContext) => Promise<T>,
): Promise<T> {
  const runtime = await openAggregatorRuntime(readConfig(), { poolSize: 4 });
  const context = await NestFactory.createApplicationContext(CliModule.forRoot(runtime), {
    logger: ['error', 'warn'],
  });
  try {
    return await fn(runtime, context);
  } finally {
    await context.close();
    await runtime.close();
  }
}

function sourceName(value: string): string {
  if (!SOURCE_NAME_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      'letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64',
    );
  }
  return value;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

const program = new Command('cli').description('fhir-aggregator command line').showHelpAfterError();

program
  .command('ingest')
  .description('Record FHIR resources from .ndjson, .ndjson.gz, .jsonl or Bundle .json files and folders')
  .requiredOption('-s, --source <name>', 'source system the files come from', sourceName)
  .option('-b, --batch-size <n>', 'resources per append transaction', positiveInt, 500)
  .option(
    '-c, --concurrency <n>',
    'batches appended at once (same-resource batches never overlap)',
    positiveInt,
    2,
  )
  .option('--max-rejects <n>', 'rejections to list in the summary', positiveInt, 50)
  .argument('<paths...>', 'files or folders')
  .action(
    async (
      paths: string[],
      options: { source: string; batchSize: number; concurrency: number; maxRejects: number },
    ) => {
      await withContext(async (runtime, context) => {
        const bar = new SingleBar({
          format:
            'ingest {bar} {percentage}% | {mb}/{totalMb} MB | {recorded} recorded {unchanged} unchanged {rejected} rejected | {rate}/s',
          noTTYOutput: !process.stderr.isTTY,
          notTTYSchedule: 5000,
          stream: process.stderr,
        });
        const started = Date.now();
        bar.start(1, 0, { mb: '0', totalMb: '?', recorded: 0, unchanged: 0, rejected: 0, rate: 0 });
        const result = await context.get(FileIngestionService).ingest(options.source, paths, {
          ingestionInstance: `cli@${os.hostname()}:${process.pid}`,
          batchSize: options.batchSize,
          concurrency: options.concurrency,
          onProgress: ({ bytesDone, bytesTotal, summary }) => {
            bar.setTotal(bytesTotal);
            bar.update(bytesDone, {
              mb: mb(bytesDone),
              totalMb: mb(bytesTotal),
              recorded: summary.recorded,
              unchanged: summary.unchanged,
              rejected: summary.rejected.length,
              rate: Math.round(summary.read / Math.max(0.001, (Date.now() - started) / 1000)),
            });
          },
        });
        bar.stop();
        const seconds = (Date.now() - started) / 1000;
        const projectionStart = Date.now();
        await runtime.runner.drain();
        const out = [
          `source ${options.source}: ${result.files} file(s), ${mb(result.bytes)} MB in ${seconds.toFixed(1)} s`,
          `  read       ${result.read}`,
          `  recorded   ${result.recorded}`,
          `  deleted    ${result.deleted}`,
          `  unchanged  ${result.unchanged}`,
          `  rejected   ${result.rejected.length}`,
          ...result.rejected.slice(0, options.maxRejects).map((r) => {
            const file = r.origin.file;
            const where = file
              ? `${file.path}${file.line ? `:${file.line}` : ''}${file.entryIndex !== undefined ? ` entry ${file.entryIndex}` : ''}`
              : '';
            return `    ${where}: ${r.code}: ${r.reason}`;
          }),
          ...(result.rejected.length > options.maxRejects
            ? [`    … ${result.rejected.length - options.maxRejects} more`]
            : []),
          `  throughput ${Math.round(result.read / Math.max(seconds, 0.001))} resources/s (append); projections caught up in ${((Date.now() - projectionStart) / 1000).toFixed(1)} s`,
        ];
        process.stdout.write(out.join('\n') + '\n');
      });
    },
  );

program
  .command('publish')
  .description('Publish .ndjson, .ndjson.gz or Bundle .json files to a Kafka topic, one resource per message')
  .requiredOption('-t, --topic <topic>', 'Kafka topic')
  .requiredOption('-s, --source <name>', 'source system, sent in the "source" header', sourceName)
  .option('--brokers <list>', 'comma-separated brokers (default: KAFKA_BROKERS)')
  .argument('<paths...>', 'files or folders')
  .action(async (paths: string[], options: { topic: string; source: string; brokers?: string }) => {
    const brokers = (options.brokers ?? process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
    if (brokers.length === 0)
      throw new InvalidArgumentError('no brokers: pass --brokers or set KAFKA_BROKERS');
    const bar = new SingleBar({
      format: 'publish {bar} {percentage}% | {mb}/{totalMb} MB | {published} messages',
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 5000,
      stream: process.stderr,
    });
    bar.start(1, 0, { mb: '0', totalMb: '?', published: 0 });
    const started = Date.now();
    const summary = await publishFiles(
      { brokers, topic: options.topic, source: options.source, inputs: paths },
      (p) => {
        bar.setTotal(p.bytesTotal);
        bar.update(p.bytesDone, { mb: mb(p.bytesDone), totalMb: mb(p.bytesTotal), published: p.published });
      },
    );
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      [
        `topic ${options.topic}, source ${options.source}: ${summary.files} file(s), ${mb(summary.bytes)} MB in ${seconds.toFixed(1)} s`,
        `  published  ${summary.published} (${summary.tombstones} tombstones), ${Math.round(summary.published / Math.max(seconds, 0.001))} messages/s`,
        `  skipped    ${summary.skipped.length}`,
        ...summary.skipped
          .slice(0, 50)
          .map(
            (r) => `    ${r.origin.file?.path ?? ''}:${r.origin.file?.line ?? ''}: ${r.code}: ${r.reason}`,
          ),
      ].join('\n') + '\n',
    );
  });

program
  .command('replay')
  .description(
    'Rebuild a projection from the event store into new tables, then swap; reads continue meanwhile',
  )
  .argument('<projection>', 'projection name, e.g. fhir-store')
  .action(async (name: string) => {
    await withContext(async (runtime) => {
      runtime.runner.projection(name);
      const status = await runtime.runner.rebuild(name, (state) => {
        process.stderr.write(
          `replay ${name}: generation ${state.generation} ${state.state}, ${state.eventsProcessed} events at ${state.eventsPerSecond}/s, position ${state.position || 'start'}\n`,
        );
      });
      process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    });
  });

program
  .command('status')
  .description('Projections: version, generation, checkpoint, lag, last rebuild')
  .action(async () => {
    await withContext(async (runtime) => {
      process.stdout.write(JSON.stringify(await runtime.runner.status(), null, 2) + '\n');
    });
  });

program
  .command('lineage')
  .description('Every recorded version of a resource with its lineage, as JSON')
  .argument('<reference>', '<Type>/<id> as served by the API')
  .option('--as-of <instant>', 'only versions recorded by this instant')
  .action(async (reference: string, options: { asOf?: string }) => {
    const parsed = parseReference(reference);
    if (parsed.kind !== 'literal') throw new InvalidArgumentError(`${reference} is not <Type>/<id>`);
    const asOf = options.asOf ? new Date(options.asOf) : undefined;
    if (asOf && Number.isNaN(asOf.getTime()))
      throw new InvalidArgumentError(`--as-of ${options.asOf} is not an instant`);
    await withContext(async (_runtime, context) => {
      const versions = await context
        .get(QueryBus)
        .execute(new ResourceLineageQuery(parsed.resourceType, parsed.id, asOf));
      process.stdout.write(JSON.stringify(versions.map(lineageJsonOf), null, 2) + '\n');
      if (versions.length === 0) process.exitCode = 1;
    });
  });

program
  .command('identity-fit')
  .description(
    'Estimate the patient matching model (m/u by EM, no labels) from the Patients in the store; the JSON it writes is what IDENTITY_MODEL names',
  )
  .requiredOption('--out <file>', 'where to write the model parameters (JSON)')
  .action(async (options: { out: string }) => {
    await withContext(async (_runtime, context) => {
      const fit = await context.get(QueryBus).execute(new FitIdentityModelQuery());
      if (fit.status !== 'fitted') throw new InvalidArgumentError(fit.reason);
      await fs.writeFile(options.out, JSON.stringify(fit.parameters, null, 2) + '\n');
      process.stdout.write(
        `fitted on ${fit.patients} patients (${fit.blockedPairs} blocked pairs, ~${Math.round(fit.expectedMatches)} matches expected, EM ${fit.converged ? 'converged' : 'stopped'}); model ${identityModelVersion(fit.parameters)}; wrote ${options.out}\n`,
      );
      for (const session of fit.sessions) {
        process.stdout.write(
          `EM session ${session.name}: ${session.pairs} pairs, ~${Math.round(session.expectedMatches)} matches\n`,
        );
      }
      process.stdout.write(formatLevelWeights(levelWeightsOf(fit.parameters)));
    });
  });

const views = program.command('views').description('Materialized SQL on FHIR v2 views');
views
  .command('add')
  .description(
    'Register a ViewDefinition (JSON with a lower-case name) to materialize: rows in analytics.view_rows, read with analytics.<name>([as_of])',
  )
  .argument('<file>', 'ViewDefinition JSON')
  .action(async (file: string) => {
    let definition: unknown;
    try {
      definition = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (error) {
      throw new InvalidArgumentError(`${file}: ${(error as Error).message}`);
    }
    await withContext(async (_runtime, context) => {
      try {
        const result = await context.get(CommandBus).execute(new RegisterViewCommand(definition));
        process.stdout.write(
          result.status === 'unchanged'
            ? `${result.name}: already registered with this definition\n`
            : `${result.name}: registered (${result.resource}: ${result.columns.join(', ')}); query analytics.${result.name}() once the projection has caught up\n`,
        );
      } catch (error) {
        if (error instanceof ViewDefinitionError) throw new InvalidArgumentError(`${file}: ${error.message}`);
        throw error;
      }
    });
  });

program.addCommand(eventStoreCommand());
program.addCommand(clientsCommand(withContext));
program.addCommand(auditCommand(withContext));
program.addCommand(bulkSyncCommand(withContext));

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  // 53100 disk_full: nothing half-written (each batch is one transaction); the same command resumes.
  const hint =
    sqlStateOf(error) === '53100'
      ? 'the disk holding the database is full; free space and run the same command again: it records exactly what is missing. PostgreSQL: '
      : '';
  process.stderr.write(`error: ${hint}${message}\n`);
  process.exit(1);
});
