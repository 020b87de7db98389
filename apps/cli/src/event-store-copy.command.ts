import { Command } from 'commander';
import { copyEventLog, digestEventLog, openEventStoreEndpoint } from '@fa/event-store';
import { readConfig } from '@fa/platform';

/** `event-store copy --from … --to …`: the use case is copyEventLog and digestEventLog; this only parses and prints. */
export function eventStoreCommand(): Command {
  const command = new Command('event-store').description('Move the event log between stores');
  command
    .command('copy')
    .description(
      'Copy every stream and event (ids, types, data, metadata, record times) in global order; a re-run continues where the last stopped; ends by comparing digests of both stores',
    )
    .requiredOption(
      '--from <store>',
      'postgres://…, esdb://…, postgres (DATABASE_URL or embedded) or eventstoredb',
    )
    .requiredOption('--to <store>', 'the same forms; must be empty or an interrupted copy of --from')
    .option('--window <n>', 'events read per window', (v) => Number(v), 2000)
    .action(async (options: { from: string; to: string; window: number }) => {
      if (options.from === options.to) throw new Error('--from and --to name the same store');
      const config = readConfig();
      const endpoints = {
        ...config,
        eventStoreUrl:
          config.eventStore.kind === 'eventstoredb' ? config.eventStore.url : process.env.EVENTSTORE_URL,
      };
      const source = await openEventStoreEndpoint(options.from, endpoints);
      try {
        const target = await openEventStoreEndpoint(options.to, endpoints);
        try {
          const started = Date.now();
          const progress = await copyEventLog(source.store, target.store, {
            windowSize: options.window,
            onProgress: (p) =>
              process.stderr.write(`copy: ${p.alreadyCopied + p.copied} events in the target\n`),
          });
          const seconds = (Date.now() - started) / 1000;
          const [from, to] = await Promise.all([digestEventLog(source.store), digestEventLog(target.store)]);
          const same = from.sha256 === to.sha256 && from.events === to.events;
          process.stdout.write(
            [
              `copy ${source.label} → ${target.label}`,
              `  already in target  ${progress.alreadyCopied}`,
              `  copied             ${progress.copied} events in ${seconds.toFixed(1)} s (${Math.round(progress.copied / Math.max(seconds, 0.001))}/s)`,
              `  source digest      ${from.sha256} (${from.events} events, ${from.streams} streams)`,
              `  target digest      ${to.sha256} (${to.events} events, ${to.streams} streams)`,
              same
                ? '  digests match: rebuild the projections on the target before serving from it (positions differ)'
                : '  DIGESTS DIFFER',
            ].join('\n') + '\n',
          );
          if (!same) process.exitCode = 1;
        } finally {
          await target.close();
        }
      } finally {
        await source.close();
      }
    });
  return command;
}
