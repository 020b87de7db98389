import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Every figure a scenario measures: printed as a table as it comes, and appended as JSON lines to
 * bench/results/results.jsonl at the end of the run.
 */
/**
 * Benchmarks (never tests): each prints figures with a baseline measured in the same run, as a table and as
 * JSON lines appended to bench/results/results.jsonl. Run: npm run bench -- [--scenarios a,b] [--scale n].
 */
export const REPO = path.resolve(__dirname, '..', '..');

export const RESULTS = path.join(REPO, 'bench', 'results', 'results.jsonl');

export const results: Record<string, unknown>[] = [];

export function record(scenario: string, figures: Record<string, number | string>) {
  const row = {
    scenario,
    at: new Date().toISOString(),
    host: os.hostname(),
    cpus: os.cpus().length,
    ...figures,
  };
  results.push(row);
  console.log(`\n${scenario}`);
  for (const [key, value] of Object.entries(figures)) console.log(`  ${key.padEnd(34)} ${value}`);
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/** Appends this run's rows to bench/results/results.jsonl. */
export async function writeResults(): Promise<void> {
  await fs.mkdir(path.dirname(RESULTS), { recursive: true });
  await fs.appendFile(RESULTS, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`\nappended ${results.length} result rows to ${path.relative(REPO, RESULTS)}`);
}
