import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  BulkSyncCancelled,
  BulkSyncResult,
  BulkSyncRunner,
  kafkaSink,
  readClientKey,
  RecordSink,
  storeSink,
} from '@fa/bulk-sync';
import type { EventStoreRuntime } from '@fa/event-store';
import { isR4ResourceType, parseFhirDateRange } from '@fa/fhir';
import { HeldBySourceQuery } from '@fa/fhir-store';
import { SOURCE_NAME_PATTERN } from '@fa/ingestion';

type WithContext = <T>(
  fn: (runtime: EventStoreRuntime, context: INestApplicationContext) => Promise<T>,
) => Promise<T>;

interface BulkSyncCliOptions {
  url: string;
  clientId: string;
  key: string;
  kid?: string;
  alg?: string;
  scope: string;
  tokenUrl?: string;
  type: string[];
  group?: string;
  since?: string;
  to: 'store' | 'kafka';
  topic?: string;
  brokers?: string;
  source: string;
  every?: number;
  parallel: number;
  batchSize: number;
  dropThreshold: number;
  poll: number;
}

function types(value: string, previous: string[] = []): string[] {
  const list = value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of list)
    if (!isR4ResourceType(t)) throw new InvalidArgumentError(`${t} is not an R4 resource type`);
  return [...previous, ...list];
}

function since(value: string): string {
  if (value === 'auto') return value;
  const range = parseFhirDateRange(value);
  if (!range || !/T/.test(value))
    throw new InvalidArgumentError('"auto" or a FHIR instant (2026-01-31T12:00:00Z)');
  return value;
}

/** "90s", "30m", "1h", "1d" → milliseconds. */
function duration(value: string): number {
  const match = /^(\d+)\s*(s|m|h|d)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('a duration such as 90s, 30m, 1h or 1d');
  const ms =
    Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  if (ms < 1000) throw new InvalidArgumentError('at least 1s');
  return ms;
}

function number(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`a number from ${min} to ${max}`);
    return n;
  };
}

function sourceName(value: string): string {
  if (!SOURCE_NAME_PATTERN.test(value))
    throw new InvalidArgumentError(
      'letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64',
    );
  return value;
}

/** The summary per type: files, lines received, and what ingestion made of them; then the warnings. */
export function formatSummary(
  source: string,
  result: BulkSyncResult,
  seconds: number,
  sink: 'store' | 'kafka',
): string {
  const rows = Object.entries(result.tallies).sort(([a], [b]) => a.localeCompare(b));
  const total = rows.reduce((n, [, t]) => n + t.received, 0);
  const head =
    sink === 'store'
      ? '  type                        files   expected   received   recorded  unchanged   rejected'
      : '  type                        files   expected   received  published   rejected';
  const line = ([type, t]: (typeof rows)[number]) => {
    const cells = [
      t.files,
      t.manifestCount ?? '-',
      t.received,
      ...(sink === 'store' ? [t.recorded, t.unchanged] : [t.published]),
      t.rejected,
    ];
    return `  ${type.padEnd(26)}${cells.map((c, i) => String(c).padStart(i === 0 ? 7 : 11)).join('')}`;
  };
  return [
    `source ${source}: export ${result.statusUrl}`,
    `  transactionTime ${result.transactionTime}${result.since ? `, _since ${result.since}` : ' (full export)'}; ${total} resources in ${seconds.toFixed(1)} s (${Math.round(total / Math.max(seconds, 0.001))}/s)`,
    head,
    ...rows.map(line),
    ...(result.errorFiles > 0
      ? [`  the server reported errors in ${result.errorFiles} OperationOutcome file(s) (manifest "error")`]
      : []),
    ...(result.warnings.length === 0
      ? ['  completeness: ok']
      : result.warnings.map((w) =>
          w.kind === 'below-manifest-count'
            ? `  WARNING completeness: ${w.resourceType}: ${w.actual} received, the manifest counts ${w.expected}`
            : w.kind === 'drop-from-previous'
              ? `  WARNING completeness: ${w.resourceType}: ${w.actual} resources, ${w.expected} in the previous full export`
              : `  WARNING completeness: ${w.resourceType}: ${w.actual} held for the source, ${w.expected} after the previous run`,
        )),
  ].join('\n');
}

/** `bulk-sync`: pull a FHIR server's Bulk Data export into the store or a Kafka topic, once or every interval. */
export function bulkSyncCommand(withContext: WithContext): Command {
  return new Command('bulk-sync')
    .description(
      "Pull another FHIR server's Bulk Data export ($export) into ingestion, as a SMART Backend Services client",
    )
    .requiredOption('--url <fhir base>', "the server's FHIR base URL")
    .requiredOption('--client-id <id>', 'our client id at that server')
    .requiredOption(
      '--key <file>',
      'our private key: the private-key.jwk.json `clients keygen` writes, a JWK, or a PKCS#8 PEM',
    )
    .option('--kid <kid>', 'the key id (needed with a PEM key)')
    .addOption(new Option('--alg <alg>', 'the key algorithm (with a PEM key)').choices(['RS384', 'ES384']))
    .option('--scope <scopes>', 'scopes to request', 'system/*.rs')
    .option(
      '--token-url <url>',
      "the token endpoint (default: from the server's .well-known/smart-configuration)",
    )
    .option('--type <types>', 'resource types to export (_type), comma-separated or repeated', types, [])
    .option('--group <id>', 'export Group/<id> instead of the whole system')
    .option(
      '--since <auto|instant>',
      '_since: an instant, or auto (the last completed sync of this source)',
      since,
    )
    .addOption(new Option('--to <sink>', 'where the records go').choices(['store', 'kafka']).default('store'))
    .option('--topic <topic>', 'the Kafka topic (with --to kafka)')
    .option('--brokers <list>', 'comma-separated brokers (default: KAFKA_BROKERS)')
    .requiredOption('-s, --source <name>', 'the source system the records are recorded as', sourceName)
    .option('--every <duration>', 'sync again every interval (90s, 30m, 1h), until Ctrl-C', duration)
    .option('--parallel <n>', 'files downloaded at once', number(1, 16), 2)
    .option('--batch-size <n>', 'resources per append', number(1, 10_000), 500)
    .option(
      '--drop-threshold <percent>',
      'a type dropping more than this from the previous full export (incremental: held after the previous run) warns',
      number(0, 100),
      10,
    )
    .option('--poll <seconds>', 'poll interval when the server sends no Retry-After', number(0.1, 3600), 2)
    .action(async (options: BulkSyncCliOptions) => {
      if (options.to === 'kafka' && !options.topic)
        throw new InvalidArgumentError('--to kafka needs --topic');
      const brokers = (options.brokers ?? process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
      if (options.to === 'kafka' && brokers.length === 0)
        throw new InvalidArgumentError('--to kafka: no brokers: pass --brokers or set KAFKA_BROKERS');
      let keyText: string;
      try {
        keyText = await fs.readFile(options.key, 'utf8');
      } catch (error) {
        throw new InvalidArgumentError(`--key ${options.key}: ${(error as Error).message}`);
      }
      const key = await readClientKey(keyText, { kid: options.kid, alg: options.alg }).catch(
        (error: Error) => {
          throw new InvalidArgumentError(`--key ${options.key}: ${error.message}`);
        },
      );
      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        process.stderr.write(
          '\ninterrupted: cancelling the export at the server (Ctrl-C again to quit at once)\n',
        );
        abort.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onSigint);
      await withContext(async (runtime, context) => {
        const instance = `cli-bulk-sync@${os.hostname()}:${process.pid}`;
        const sink: RecordSink =
          options.to === 'kafka'
            ? await kafkaSink({ brokers, topic: options.topic!, source: options.source })
            : storeSink(context.get(CommandBus), options.source, instance);
        try {
          for (;;) {
            const started = Date.now();
            const bar = new SingleBar({
              format: 'bulk-sync {phase} {bar} {percentage}% | {value}/{total} resources | {files} files',
              noTTYOutput: !process.stderr.isTTY,
              notTTYSchedule: 5000,
              stream: process.stderr,
            });
            bar.start(1, 0, { phase: 'exporting', files: '0/?' });
            try {
              const result = await context.get(BulkSyncRunner).run({
                source: options.source,
                url: options.url,
                clientId: options.clientId,
                key,
                scope: options.scope,
                tokenUrl: options.tokenUrl,
                types: options.type,
                group: options.group,
                since: options.since,
                sink,
                parallel: options.parallel,
                batchSize: options.batchSize,
                completenessThreshold: options.dropThreshold / 100,
                // With Kafka the consumer records after the run: what is held then says nothing of this run.
                ...(options.to === 'store'
                  ? {
                      heldTotals: async () => {
                        await runtime.runner.drain();
                        return context.get(QueryBus).execute(new HeldBySourceQuery(options.source));
                      },
                    }
                  : {}),
                pollMs: options.poll * 1000,
                signal: abort.signal,
                onProgress: (p) => {
                  if (p.phase === 'exporting')
                    bar.update(p.percent ?? 0, { phase: 'exporting', files: '0/?' });
                  else {
                    bar.setTotal(Math.max(p.expected ?? p.lines, 1));
                    bar.update(p.lines, { phase: 'downloading', files: `${p.filesDone}/${p.files}` });
                  }
                },
                onNotice: (text) => process.stderr.write(`bulk-sync: ${text}\n`),
              });
              bar.stop();
              const seconds = (Date.now() - started) / 1000;
              // As `cli ingest` does: reads answer with what was recorded when the command returns.
              if (options.to === 'store') await runtime.runner.drain();
              process.stdout.write(formatSummary(options.source, result, seconds, options.to) + '\n');
            } catch (error) {
              bar.stop();
              if (error instanceof BulkSyncCancelled) {
                process.stderr.write(`bulk-sync: ${error.message}\n`);
                break;
              }
              if (!options.every) throw error;
              process.stderr.write(`bulk-sync: this run failed: ${(error as Error).message}\n`);
            }
            if (!options.every) break;
            process.stderr.write(`bulk-sync: next run in ${options.every / 1000} s\n`);
            const wake = new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, options.every);
              abort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
            });
            await wake;
            if (abort.signal.aborted) break;
          }
        } finally {
          await sink.close();
          process.off('SIGINT', onSigint);
        }
      });
      if (abort.signal.aborted) process.exitCode = 130;
    });
}
