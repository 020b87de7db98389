import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestDatabase } from '@fa/testkit';
import { runCli, startServiceProcess } from './support/aggregator-harness';

const CLIENTS = 16;
const LOAD_MS = 2000;

/**
 * The audit's promise: a response is sent only after its record is committed. The service runs as its own
 * process under load from 16 concurrent clients and is killed with SIGKILL mid-load; every response a client
 * received in full must have its record (by its x-request-id), and the chain must still verify.
 */
describe('access audit survives kill -9 under load', () => {
  it('loses no audit record of a response that was sent', async () => {
    const database = await createTestDatabase(3);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fa-audit-crash-'));
    let child: ChildProcess | undefined;
    try {
      const service = await startServiceProcess({
        DATABASE_URL: database.url,
        DATA_DIR: dataDir,
        AUDIT_ANCHOR_INTERVAL: '0.2',
        ROLES: 'api',
      });
      child = service.child;
      const port = service.port;
      const exited = new Promise((resolve) => child!.once('exit', resolve));

      const received: string[] = [];
      let sent = 0;
      let killed = false;
      const client = async (c: number) => {
        for (let k = 0; !killed; k++) {
          const id = `crash-${c}-${k}`;
          sent++;
          try {
            const response = await fetch(`http://127.0.0.1:${port}/fhir/Observation?_count=1&code=${k}`, {
              headers: { 'x-request-id': id },
            });
            await response.text();
            if (response.headers.get('x-request-id') === id) received.push(id);
          } catch {
            return; // the process is gone
          }
        }
      };
      const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
      await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
      child.kill('SIGKILL');
      killed = true;
      await exited;
      await load;

      const { rows } = await database.pool.query<{ id: string }>(
        `SELECT record->>'requestId' AS id FROM audit.records`,
      );
      const audited = new Set(rows.map((r) => r.id));
      const missing = received.filter((id) => !audited.has(id));
      expect(received.length).toBeGreaterThan(100);
      expect(missing).toEqual([]);
      // Requests in flight at the kill may have been recorded without their answer leaving: never the reverse.
      expect(audited.size).toBeGreaterThanOrEqual(received.length);
      expect(audited.size).toBeLessThanOrEqual(sent);

      const verified = await runCli(['audit', 'verify'], database.url, { env: { DATA_DIR: dataDir } });
      expect(verified.stderr).toBe('');
      expect(verified.stdout).toContain(`ok, ${audited.size} records verified`);
      expect(verified.code).toBe(0);
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
