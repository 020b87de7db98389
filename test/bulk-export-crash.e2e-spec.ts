import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { signClientAssertion, tokenRequestForm } from '@fa/access';
import {
  AggregatorHarness,
  REPO_ROOT,
  startAggregator,
  startServiceProcess,
} from './support/aggregator-harness';
import { readNdjsonFolder } from './support/independent-search/dataset';
import { ourIdIn } from './support/independent-search/search-client';

const SYNTHEA_13 =
  process.env.SYNTHEA_13_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'data', 'synthea-13');
const SOURCE = 'clinic';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Manifest {
  output: { type: string; url: string; count: number }[];
}

/**
 * An export's durability: the service runs as its own process (ROLES=api,export) and is killed with SIGKILL in
 * the middle of an export of synthea-13 written in small pages and small files; a new process on the same
 * database and EXPORT_DIR resumes the job from its last checkpoint (no unit's progress goes back) and the files
 * hold every resource exactly once.
 */
describe('an export survives kill -9 of the service', () => {
  let harness: AggregatorHarness;
  let child: ChildProcess | undefined;
  let dataDir: string;

  beforeAll(async () => {
    if (!existsSync(SYNTHEA_13)) throw new Error(`${SYNTHEA_13} is missing: set SYNTHEA_13_DIR`);
    harness = await startAggregator();
    await harness.ingest(SOURCE, [SYNTHEA_13]);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fa-export-crash-'));
  }, 300_000);
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await harness?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('resumes from its last checkpoint and writes every resource exactly once', async () => {
    const resources = await readNdjsonFolder(SYNTHEA_13);
    const env = {
      DATABASE_URL: harness.database.url,
      DATA_DIR: dataDir,
      ROLES: 'api,export',
      EXPORT_PAGE_SIZE: '10',
      EXPORT_MAX_FILE_BYTES: '400000',
      EXPORT_MAX_JOBS_PER_CLIENT: '1',
    };
    const start = async () => {
      const service = await startServiceProcess(env);
      child = service.child;
      const base = `http://127.0.0.1:${service.port}`;
      // A token of the harness's client from this process's own token endpoint (its signing key is in DATA_DIR).
      const tokenUrl = `${base}/auth/token`;
      const assertion = await signClientAssertion({
        clientId: harness.testClient.clientId,
        tokenUrl,
        privateJwk: harness.testClient.keys.privateJwk,
      });
      const granted = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(tokenRequestForm(assertion, 'system/*.rs')).toString(),
      });
      expect(granted.status).toBe(200);
      const token = ((await granted.json()) as { access_token: string }).access_token;
      const get = (url: string, init: RequestInit = {}) =>
        fetch(url.replace(/^http:\/\/[^/]+/, base), {
          ...init,
          headers: { Authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
        });
      return { base, get };
    };

    let service = await start();
    const kickOff = await service.get(`${service.base}/fhir/$export`, {
      headers: { Accept: 'application/fhir+json', Prefer: 'respond-async' },
    });
    expect(kickOff.status).toBe(202);
    const statusUrl = kickOff.headers.get('content-location')!;
    const jobId = statusUrl.split('/').pop()!;
    // Wait until the job is under way (some units written, not all), then kill the process.
    let before = '';
    for (let i = 0; i < 120; i++) {
      await sleep(1000);
      if (i === 0) {
        // One running export per client here: a second kick-off is 429 with Retry-After.
        const second = await service.get(`${service.base}/fhir/Patient/$export`, {
          headers: { Accept: 'application/fhir+json', Prefer: 'respond-async' },
        });
        expect(second.status).toBe(429);
        expect(second.headers.get('retry-after')).toMatch(/^\d+$/);
      }
      const status = await service.get(statusUrl);
      expect(status.status).toBe(202);
      before = status.headers.get('x-progress') ?? '';
      const [done] = before.split('/').map((n) => Number.parseInt(n, 10));
      if (done >= 2) break;
    }
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child!.kill('SIGKILL');
    await exited;
    const progressBefore = await checkpoints(harness, jobId);
    expect(progressBefore.some((e) => e.type === 'ExportCompleted')).toBe(false);
    expect(progressBefore.filter((e) => e.type === 'ExportProgressed').length).toBeGreaterThan(2);

    service = await start();
    let manifest: Manifest | undefined;
    for (let i = 0; i < 180 && !manifest; i++) {
      await sleep(1000);
      const status = await service.get(statusUrl);
      if (status.status === 200) manifest = (await status.json()) as Manifest;
      else expect(status.status).toBe(202);
    }
    expect(manifest).toBeDefined();

    // Resumed, not restarted: within each unit the checkpoints only move forward across the kill.
    const events = await checkpoints(harness, jobId);
    const lastIdByUnit = new Map<string, string>();
    for (const event of events.filter((e) => e.type === 'ExportProgressed')) {
      const data = event.data as { unit: string; lastId?: string };
      const previous = lastIdByUnit.get(data.unit);
      if (previous !== undefined && data.lastId !== undefined)
        expect(data.lastId > previous || data.lastId === previous).toBe(true);
      if (data.lastId !== undefined) lastIdByUnit.set(data.unit, data.lastId);
    }
    expect(events.filter((e) => e.type === 'ExportRequested')).toHaveLength(1);

    // Every resource exactly once, by type, against the NDJSON inputs.
    const ourId = ourIdIn(SOURCE);
    const want = new Map<string, string[]>();
    for (const r of resources) {
      const list = want.get(r.resourceType) ?? [];
      list.push(ourId(r.resourceType, r.id as string));
      want.set(r.resourceType, list);
    }
    const got = new Map<string, string[]>();
    for (const entry of manifest!.output) {
      const response = await service.get(entry.url, { headers: { 'Accept-Encoding': 'identity' } });
      expect(response.status).toBe(200);
      const lines = (await response.text()).split('\n').filter(Boolean);
      expect([entry.url, lines.length]).toEqual([entry.url, entry.count]);
      for (const line of lines) {
        const resource = JSON.parse(line) as { resourceType: string; id: string };
        expect(resource.resourceType).toBe(entry.type);
        const list = got.get(entry.type) ?? [];
        list.push(resource.id);
        got.set(entry.type, list);
      }
    }
    const sortedMap = (m: Map<string, string[]>) =>
      Object.fromEntries(
        [...m].sort(([a], [b]) => a.localeCompare(b)).map(([t, ids]) => [t, [...ids].sort()]),
      );
    expect(sortedMap(got)).toEqual(sortedMap(want));
    // Small files: the bigger types are split into several.
    expect(manifest!.output.filter((o) => o.type === 'DocumentReference').length).toBeGreaterThan(1);
    child!.kill('SIGTERM');
  }, 240_000);
});

async function checkpoints(harness: AggregatorHarness, jobId: string) {
  return harness.runtime.store.readStream(`BulkExport-${jobId}`);
}
