import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PostgresEventStore } from '@fa/event-store';
import { publishFiles } from '@fa/ingestion';
import { FIXTURES, REPO_ROOT, runCli } from './support/aggregator-harness';
import { createTestDatabase, eventually, registerServiceClient, startKafkaMock } from '@fa/testkit';
import { readNdjsonFolder } from './support/independent-search/dataset';
import { ourIdIn } from './support/independent-search/search-client';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');

interface StartedLine {
  roles: string[];
  port?: number;
  kafka: unknown;
}

describe('ROLES: one service split over processes by role', () => {
  it('a ROLES=kafka process records from Kafka without serving HTTP or projecting; an api,projections process serves it', async () => {
    const kafka = await startKafkaMock({ topics: ['roles'], partitions: 2 });
    const database = await createTestDatabase(5);
    const children: ChildProcess[] = [];
    const start = (roles: string) =>
      startRoles(children, {
        ROLES: roles,
        DATABASE_URL: database.url,
        KAFKA_BROKERS: kafka.brokers.join(','),
        KAFKA_TOPICS: 'roles=hospital-r',
        KAFKA_GROUP_ID: 'roles-group',
      });
    try {
      const lines = (
        await Promise.all(
          (await fs.readdir(SAMPLE)).map((name) => fs.readFile(path.join(SAMPLE, name), 'utf8')),
        )
      ).flatMap((text) => text.split('\n').filter((l) => l.trim()));
      const patients = lines.filter((l) => JSON.parse(l).resourceType === 'Patient').length;

      const consumer = await start('kafka');
      expect(consumer.roles).toEqual(['kafka']);
      expect(consumer.port).toBeUndefined();
      expect(consumer.kafka).toMatchObject({ topics: ['roles'] });
      await publishFiles({ brokers: kafka.brokers, topic: 'roles', source: 'hospital-r', inputs: [SAMPLE] });
      const recorded = () =>
        database.pool
          .query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE type = 'ResourceVersionRecorded'`)
          .then((r) => Number(r.rows[0].n));
      expect(await eventually(recorded, (n) => n >= lines.length)).toBe(lines.length);
      // Recorded, yet no projection has applied anything: that is not this process's role.
      const moved = await database.pool.query(
        `SELECT count(*) AS n FROM pg_tables WHERE tablename = 'checkpoints'`,
      );
      if (Number(moved.rows[0].n) > 0) {
        const positions = await database.pool.query<{ position: string }>('SELECT position FROM checkpoints');
        expect(positions.rows.every((r) => r.position === '')).toBe(true);
      }

      const api = await start('api,projections');
      expect(api.roles).toEqual(['api', 'projections']);
      expect(api.kafka).toBe('off: not in ROLES');
      const client = await registerServiceClient(database.pool);
      const origin = `http://127.0.0.1:${api.port}`;
      const headers = { authorization: `Bearer ${await client.token(origin, 'system/Patient.rs')}` };
      const total = () =>
        fetch(`${origin}/fhir/Patient?_summary=count`, { headers })
          .then((response) => response.json() as Promise<{ total?: number }>)
          .then((bundle) => bundle.total ?? 0);
      expect(await eventually(total, (n) => n >= patients)).toBe(patients);
    } finally {
      await stopAll(children);
      await database.drop();
      await kafka.stop();
    }
  });

  it('a ROLES=export process runs the export jobs an api,projections process accepted; the api alone never does', async () => {
    const database = await createTestDatabase(5);
    const exportDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-roles-exports-'));
    const dataDirs = [
      await fs.mkdtemp(path.join(os.tmpdir(), 'fa-roles-api-')),
      await fs.mkdtemp(path.join(os.tmpdir(), 'fa-roles-export-')),
    ];
    const children: ChildProcess[] = [];
    // Files are written by the export process and served by the api: both use one EXPORT_DIR.
    const start = (roles: string, dataDir: string) =>
      startRoles(children, {
        ROLES: roles,
        DATABASE_URL: database.url,
        DATA_DIR: dataDir,
        EXPORT_DIR: exportDir,
      });
    try {
      const ingested = await runCli(['ingest', '--source', 'hospital-r', SAMPLE], database.url);
      expect(ingested.code).toBe(0);
      const resources = await readNdjsonFolder(SAMPLE);
      const api = await start('api,projections', dataDirs[0]);
      expect(api.roles).toEqual(['api', 'projections']);
      const client = await registerServiceClient(database.pool);
      const origin = `http://127.0.0.1:${api.port}`;
      const headers = { authorization: `Bearer ${await client.token(origin, 'system/*.rs')}` };
      const get = (url: string) => fetch(url, { headers: { ...headers, 'accept-encoding': 'identity' } });
      // The read model holds everything before the kick-off.
      const total = () =>
        fetch(`${origin}/fhir/Patient?_summary=count`, { headers })
          .then((response) => response.json() as Promise<{ total?: number }>)
          .then((bundle) => bundle.total ?? 0);
      const patients = resources.filter((r) => r.resourceType === 'Patient').length;
      expect(await eventually(total, (n) => n >= patients)).toBe(patients);

      const kickOff = await fetch(`${origin}/fhir/$export`, {
        headers: { ...headers, accept: 'application/fhir+json', prefer: 'respond-async' },
      });
      expect(kickOff.status).toBe(202);
      const statusUrl = kickOff.headers.get('content-location')!;
      const jobId = statusUrl.split('/').pop()!;
      const store = new PostgresEventStore(database.pool);
      const jobEvents = async () => (await store.readStream(`BulkExport-${jobId}`)).map((e) => e.type);
      // Without an export process the job is accepted and listed as running (the projections saw it), and
      // polled as told it stays 202 with nothing written: no worker has taken it.
      const running = () =>
        database.pool
          .query<{ status: string }>(
            'SELECT status FROM bulk_data.export_jobs WHERE job_id = $1 AND recorded_to IS NULL',
            [jobId],
          )
          .then((r) => r.rows[0]?.status)
          .catch(() => undefined);
      expect(await eventually(running, (status) => status !== undefined)).toBe('running');
      for (let poll = 0; poll < 3; poll++) {
        const status = await get(statusUrl);
        expect(status.status).toBe(202);
        await sleep(Number(status.headers.get('retry-after') ?? '1') * 1000);
      }
      expect(await jobEvents()).toEqual(['ExportRequested']);
      expect(await fs.readdir(exportDir)).toEqual([]);

      const worker = await start('export', dataDirs[1]);
      expect(worker.roles).toEqual(['export']);
      expect(worker.port).toBeUndefined();
      let manifest: { output: { type: string; url: string; count: number }[]; error: unknown[] } | undefined;
      for (let poll = 0; poll < 120 && !manifest; poll++) {
        const status = await get(statusUrl);
        if (status.status === 200) manifest = (await status.json()) as typeof manifest;
        else {
          expect(status.status).toBe(202);
          await sleep(Number(status.headers.get('retry-after') ?? '1') * 1000);
        }
      }
      expect(manifest).toBeDefined();
      expect(manifest!.error).toEqual([]);
      expect((await jobEvents()).at(-1)).toBe('ExportCompleted');
      // Every resource exactly once, served by the api from what the export process wrote.
      const want: Record<string, string[]> = {};
      for (const r of resources)
        (want[r.resourceType] ??= []).push(ourIdIn('hospital-r')(r.resourceType, r.id as string));
      const got: Record<string, string[]> = {};
      for (const entry of manifest!.output) {
        const file = await get(entry.url);
        expect([entry.url, file.status]).toEqual([entry.url, 200]);
        const lines = (await file.text()).split('\n').filter(Boolean);
        expect([entry.url, lines.length]).toEqual([entry.url, entry.count]);
        for (const line of lines) (got[entry.type] ??= []).push((JSON.parse(line) as { id: string }).id);
      }
      for (const list of [...Object.values(want), ...Object.values(got)]) list.sort();
      expect(got).toEqual(want);
      expect(await fs.readdir(exportDir)).toEqual([jobId]);
    } finally {
      await stopAll(children);
      await database.drop();
      for (const dir of [exportDir, ...dataDirs]) await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

/** The service as a process with these ROLES (and env), resolved with its started line. */
function startRoles(children: ChildProcess[], env: NodeJS.ProcessEnv): Promise<StartedLine> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/aggregator/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(child);
  let out = '';
  return new Promise<StartedLine>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n').find((l) => l.includes('"msg":"fhir-aggregator started"'));
      if (line) resolve(JSON.parse(line) as StartedLine);
    });
    child.once('exit', (code) => reject(new Error(`service (ROLES=${env.ROLES}) exited ${code}: ${out}`)));
  });
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map((child) =>
      child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined,
    ),
  );
}
