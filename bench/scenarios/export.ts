import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileIngestionService } from '@fa/ingestion';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { freshDatabase, openRuntime, twoPhases } from '../support/datasets';
import { record, REPO, round } from '../support/results';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Bulk Data $export: the dataset is ingested in two phases (in this process), then the service runs as its own
 * process (ROLES=api,export, as `npm start` would) and exports everything now, and everything as of the instant
 * between the phases, and Patient level organized by patient (STU3 organizeOutputBy=Patient). Figures: resources written per second (kick-off to manifest), and the ratio to the COPY
 * ceiling of this run; memory of the export alone: the service is first left to finish its start-up (every
 * projection's lag 0), then before each export its peak RSS is reset (`/proc/<pid>/clear_refs` 5), so the
 * VmHWM after it is the export's peak, with the V8 heap in use sampled from its /metrics every 250 ms (garbage
 * included) and the heap left after each full collection (--trace-gc: what the export keeps alive).
 */
export async function exportScenario(
  serverUrl: string,
  data: { dir: string; resources: number },
  ceilingRate: number,
  label: string,
) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openRuntime(url);
  const app = await createAggregatorApp(runtime, { auth: { enabled: false } });
  await app.init();
  await runtime.runner.start();
  const phases = await twoPhases(data.dir);
  const files = app.get(FileIngestionService);
  await files.ingest('bench', [phases.first], { ingestionInstance: 'bench' });
  await runtime.runner.waitForCatchUp(30 * 60_000);
  await sleep(10);
  const middle = new Date().toISOString();
  await sleep(10);
  await files.ingest('bench', [phases.second], { ingestionInstance: 'bench' });
  await runtime.runner.waitForCatchUp(30 * 60_000);
  await app.close();
  await runtime.close();

  const exportDir = mkdtempSync(path.join(os.tmpdir(), 'fa-bench-export-'));
  // --trace-gc: each Mark-Compact line gives the heap left after a full collection, what the export keeps alive.
  const child = spawn(
    process.execPath,
    ['--trace-gc', '-r', '@swc-node/register', 'apps/aggregator/src/main.ts'],
    {
      cwd: REPO,
      env: {
        ...process.env,
        ROLES: 'api,projections,export',
        DATABASE_URL: url,
        AUTH: 'off',
        PORT: '0',
        EXPORT_DIR: exportDir,
        DATA_DIR: exportDir,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const memory = (field: 'VmHWM' | 'VmRSS') =>
    Number(
      new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0,
    ) * 1024;
  try {
    let out = '';
    /** Heap (MB) after each full collection, in order. */
    const liveAfterGc: number[] = [];
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = pending + chunk.toString('utf8');
      const lines = text.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const gc = /Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(line);
        if (gc) liveAfterGc.push(Number(gc[1]));
        else out += line + '\n';
      }
    });
    /** The worker's own time for a job, from its `export completed` log line (kick-off to manifest includes polls). */
    const workerMs = (jobId: string) => {
      const line = out.split('\n').find((l) => l.includes('"export completed"') && l.includes(jobId));
      return line ? Number((JSON.parse(line) as { ms: number }).ms) : NaN;
    };
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', () => {
        const line = out.split('\n').find((l) => l.includes('"msg":"fhir-aggregator started"'));
        if (line) resolve(Number(/"port":(\d+)/.exec(line)![1]));
      });
      child.once('exit', (code) => reject(new Error(`service exited (${code})`)));
    });
    const base = `http://127.0.0.1:${port}`;
    await idle(base);
    const heapUsed = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
    };
    const run = async (operation: string) => {
      await idle(base);
      const rssBefore = memory('VmRSS');
      const heapBefore = await heapUsed();
      const gcFrom = liveAfterGc.length;
      // Resets VmHWM to the current RSS: the peak read after the export is the export's.
      writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
      let heapPeak = heapBefore;
      const sampler = setInterval(() => {
        heapUsed()
          .then((h) => (heapPeak = Math.max(heapPeak, h)))
          .catch(() => undefined);
      }, 250);
      const started = process.hrtime.bigint();
      const kickOff = await fetch(`${base}/fhir/${operation}`, {
        headers: { Accept: 'application/fhir+json', Prefer: 'respond-async' },
      });
      if (kickOff.status !== 202) throw new Error(`kick-off: ${kickOff.status} ${await kickOff.text()}`);
      const status = kickOff.headers.get('content-location')!;
      for (;;) {
        await sleep(1000);
        const response = await fetch(status);
        if (response.status === 200) {
          const manifest = (await response.json()) as { output: { count: number }[] };
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const written = manifest.output.reduce((n, o) => n + o.count, 0);
          const jobId = /jobs\/([0-9a-f-]{36})/.exec(status)![1];
          const worker = workerMs(jobId) / 1000;
          clearInterval(sampler);
          const fullGcs = liveAfterGc.slice(gcFrom);
          return {
            fullGcs: fullGcs.length,
            liveAfterGcMax: fullGcs.length > 0 ? Math.max(...fullGcs) : NaN,
            liveAfterGcLast: fullGcs.at(-1) ?? NaN,
            heapBefore,
            heapPeak,
            written,
            files: manifest.output.length,
            seconds,
            worker,
            rssBefore,
            peak: memory('VmHWM'),
          };
        }
        if (response.status !== 202) throw new Error(`status: ${response.status} ${await response.text()}`);
      }
    };
    for (const [name, query] of [
      ['now', '$export'],
      ['as of the earlier instant', `$export?_asOf=${encodeURIComponent(middle)}`],
      // Patient level organized by patient (STU3): every compartment, a block per patient.
      ['Patient level, organizeOutputBy=Patient', 'Patient/$export?organizeOutputBy=Patient'],
    ] as const) {
      const result = await run(query);
      const rate = result.written / result.seconds;
      record(`export ${label}: ${name}`, {
        resources: result.written,
        files: result.files,
        seconds: round(result.seconds, 2),
        resourcesPerSecond: Math.round(rate),
        ratioToCopyCeiling: round(rate / ceilingRate, 3),
        // The 1 s status poll rounds the client's time up; the worker's time is reading and writing alone.
        workerSeconds: round(result.worker, 2),
        workerResourcesPerSecond: Math.round(result.written / result.worker),
        workerRatioToCopyCeiling: round(result.written / result.worker / ceilingRate, 3),
        rssBeforeMB: round(result.rssBefore / 1024 / 1024),
        peakRssMB: round(result.peak / 1024 / 1024),
        heapUsedBeforeMB: round(result.heapBefore / 1024 / 1024),
        heapUsedPeakMB: round(result.heapPeak / 1024 / 1024),
        // What the export keeps alive: the heap after each full collection during it (garbage not counted).
        fullGcsDuringExport: result.fullGcs,
        heapAfterFullGcMaxMB: result.liveAfterGcMax,
        heapAfterFullGcLastMB: result.liveAfterGcLast,
      });
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(exportDir, { recursive: true, force: true });
    for (const dir of [phases.first, phases.second]) rmSync(dir, { recursive: true, force: true });
  }
}

/** Until every projection of the service has caught up with the log (lag 0 twice, 1 s apart). */
async function idle(base: string): Promise<void> {
  let quiet = 0;
  while (quiet < 2) {
    const rows = (await (await fetch(`${base}/admin/projections`)).json()) as { lag: number }[];
    quiet = rows.every((r) => r.lag === 0) ? quiet + 1 : 0;
    await sleep(1000);
  }
}
