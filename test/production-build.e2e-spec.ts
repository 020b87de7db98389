import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './support/aggregator-harness';
import { TestDatabase, createTestDatabase } from '@fa/testkit';

/**
 * The compiled service (`npm run build`, which `npm test` runs before Jest) starts from dist/ with plain
 * `node`, answers /fhir/metadata and serves the demo data exactly as the service run from source does.
 */
const COMPILED_MAIN = path.join(REPO_ROOT, 'dist', 'apps', 'aggregator', 'src', 'main.js');

interface DemoService {
  base: string;
  patient: string;
  /** The access token the demo printed for its client. */
  token: string;
  child: ChildProcess;
}

function startDemo(args: string[], database: TestDatabase): Promise<DemoService> {
  const child = spawn(process.execPath, [...args, '--sample'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      // The demo client's key and the server's signing keys: one directory per service.
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'fa-demo-')),
      PORT: '0',
      ROLES: 'api,projections',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  return new Promise<DemoService>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const current =
        /current version\s+curl -H "Authorization: Bearer \$TOKEN" '(http:\/\/\S+)\/fhir\/(Patient\/[^'\s]+)'/.exec(
          out,
        );
      const token = /export TOKEN=(\S+)/.exec(out);
      if (current && token && out.includes('OpenAPI'))
        resolve({ base: current[1], patient: current[2], token: token[1], child });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}\n${err}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function getJson(
  url: string,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const VARYING = new Set([
  'lastUpdated',
  'lastModified',
  'timestamp',
  'date',
  'url',
  'valueUri',
  'fullUrl',
  'link',
]);

/** The parts of a response that must not depend on how the service was started (record times do). */
function stable(body: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(body, (key, value: unknown) => (VARYING.has(key) ? undefined : value)));
}

describe('production build (dist/)', () => {
  const databases: TestDatabase[] = [];
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(children.map(stop));
    await Promise.all(databases.map((db) => db.drop()));
  });

  it('runs with plain node and serves the demo data as the service from source does', async () => {
    expect(fs.existsSync(COMPILED_MAIN)).toBe(true); // `npm test` builds first; else run `npm run build`
    const [forDist, forSource] = [await createTestDatabase(5), await createTestDatabase(5)];
    databases.push(forDist, forSource);
    const [compiled, source] = await Promise.all([
      startDemo(['--enable-source-maps', COMPILED_MAIN], forDist),
      startDemo(['-r', '@swc-node/register', 'apps/aggregator/src/main.ts'], forSource),
    ]);
    children.push(compiled.child, source.child);
    expect(compiled.patient).toBe(source.patient); // ids are deterministic from (source, type, source id)

    const metadata = await getJson(`${compiled.base}/fhir/metadata`);
    expect(metadata.status).toBe(200);
    expect(metadata.body.resourceType).toBe('CapabilityStatement');
    expect(stable(metadata.body)).toEqual(stable((await getJson(`${source.base}/fhir/metadata`)).body));

    for (const query of [
      compiled.patient,
      `${compiled.patient}/_history`,
      'Patient?family=keel&birthdate=lt2000',
      `${compiled.patient}/$everything?_count=1000`,
    ]) {
      const [fromDist, fromSource] = await Promise.all([
        getJson(`${compiled.base}/fhir/${query}`, compiled.token),
        getJson(`${source.base}/fhir/${query}`, source.token),
      ]);
      expect([query, fromDist.status]).toEqual([query, 200]);
      expect(stable(fromDist.body)).toEqual(stable(fromSource.body));
    }
    const everything = await getJson(
      `${compiled.base}/fhir/${compiled.patient}/$everything?_count=1000`,
      compiled.token,
    );
    // The demo's data needs its token: none is 401.
    expect((await getJson(`${compiled.base}/fhir/${compiled.patient}`)).status).toBe(401);
    expect((everything.body.entry as unknown[]).length).toBeGreaterThan(100);
  });
});
