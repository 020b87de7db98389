import { spawn } from 'node:child_process';
import { REPO_ROOT } from './aggregator-harness';

export interface PostgresProcess {
  url: string;
  port: number;
  /** Stops the server (fast shutdown: the server closes every connection) and waits for it to be down. */
  stop(): Promise<void>;
}

/** An embedded PostgreSQL on its own data directory, in a process of its own (embedded-postgres-child.ts). */
export function startPostgresProcess(dataDir: string, port?: number): Promise<PostgresProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        'test/support/embedded-postgres-child.ts',
        dataDir,
        ...(port ? [String(port)] : []),
      ],
      { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`embedded PostgreSQL process exited ${code}: ${stderr}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (!stdout.includes('\n')) return;
      const { url, owned } = JSON.parse(line) as { url: string; owned: boolean };
      if (!owned) reject(new Error(`a PostgreSQL was already running on ${dataDir}`));
      resolve({
        url,
        port: Number(new URL(url).port),
        stop: async () => {
          child.stdin.write('stop\n');
          await exited;
        },
      });
    });
  });
}
