import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { publishFiles } from '@fa/ingestion';
import { FIXTURES, REPO_ROOT } from './support/aggregator-harness';
import { createTestDatabase, eventually, startKafkaMock } from '@fa/testkit';

const SHUTDOWN_TIMEOUT_S = 4;

describe('graceful shutdown always ends (SHUTDOWN_TIMEOUT)', () => {
  it('with the Kafka broker gone, SIGTERM ends the service within the deadline, having recorded what it committed', async () => {
    const kafka = await startKafkaMock({ topics: ['drill'], partitions: 2 });
    const database = await createTestDatabase(3);
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/aggregator/src/main.ts'], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: database.url,
          KAFKA_BROKERS: kafka.brokers.join(','),
          KAFKA_TOPICS: 'drill=hospital-d',
          KAFKA_GROUP_ID: 'drill-group',
          SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_S),
          PORT: '0',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      await eventually(
        async () => out.includes('"msg":"fhir-aggregator started"') || child!.exitCode !== null,
        (started) => started,
        90_000,
      );
      expect(child.exitCode).toBeNull();
      const published = await publishFiles({
        brokers: kafka.brokers,
        topic: 'drill',
        source: 'hospital-d',
        inputs: [path.join(FIXTURES, 'synthea-2-patients', 'Patient.ndjson')],
      });
      const recorded = () =>
        database.pool
          .query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE type = 'ResourceVersionRecorded'`)
          .then((r) => Number(r.rows[0].n));
      expect(await eventually(recorded, (n) => n >= published.published)).toBe(published.published);

      await kafka.stop();
      const signalled = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      const elapsed = Date.now() - signalled;
      // Leaving the group cannot reach the broker: without a deadline this took minutes (issue 22).
      expect(elapsed).toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000 + 3000);
      expect(code).toBe(1);
      expect(out).toContain('shutdown deadline passed; exiting without finishing');
      // Nothing was lost or doubled by exiting mid-shutdown.
      expect(await recorded()).toBe(published.published);
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await database.drop();
      await kafka.stop().catch(() => undefined);
    }
  }, 180_000);
});
