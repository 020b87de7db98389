import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { REPO } from './results';

/** The service and the CLI in processes of their own, as a user runs them. */

/** The service with ROLES=kafka in its own process, as `ROLES=kafka npm start` runs it. */
export async function startConsumerProcess(databaseUrl: string, brokers: string[]) {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/aggregator/src/main.ts'], {
    cwd: REPO,
    env: {
      ...process.env,
      ROLES: 'kafka',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPICS: 'bench=bench',
      KAFKA_GROUP_ID: 'bench',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let peak = 0;
  const readPeak = () => {
    // VmHWM: the process's peak resident set so far.
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    peak = Math.max(peak, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
  };
  return {
    start: async () => {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          if (out.includes('fhir-aggregator started')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`consumer process exited (${code}): ${out}`)));
      });
    },
    stop: async () => {
      readPeak();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
    peakRssBytes: () => {
      readPeak();
      return peak;
    },
  };
}

/** `npm run cli -- <args>` as a user runs it, against the database; its exit code and output. */
export async function runCliProcess(
  databaseUrl: string,
  args: string[],
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/cli/src/main.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out, err };
}

/** `cli ingest` as a user runs it; returns what its summary reports. */
export async function runCliIngest(
  databaseUrl: string,
  dir: string,
): Promise<{ recorded: number; appendPerSecond: number }> {
  const { code, out, err } = await runCliProcess(databaseUrl, ['ingest', '--source', 'bench', dir]);
  const recorded = /recorded\s+(\d+)/.exec(out);
  const rate = /throughput (\d+) resources\/s \(append\)/.exec(out);
  if (code !== 0 || !recorded || !rate) throw new Error(`cli ingest failed (${code}): ${out}\n${err}`);
  return { recorded: Number(recorded[1]), appendPerSecond: Number(rate[1]) };
}
