import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { publishFiles } from '@fa/ingestion';
import { FIXTURES, REPO_ROOT } from './support/aggregator-harness';
import { createTestDatabase, eventually, registerServiceClient, startKafkaMock } from '@fa/testkit';

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
    const start = (roles: string) => {
      const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/aggregator/src/main.ts'], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          ROLES: roles,
          DATABASE_URL: database.url,
          KAFKA_BROKERS: kafka.brokers.join(','),
          KAFKA_TOPICS: 'roles=hospital-r',
          KAFKA_GROUP_ID: 'roles-group',
          PORT: '0',
          LOG_LEVEL: 'info',
        },
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
        child.once('exit', (code) => reject(new Error(`service (ROLES=${roles}) exited ${code}: ${out}`)));
      });
    };
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
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(
        children.map((child) =>
          child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined,
        ),
      );
      await database.drop();
      await kafka.stop();
    }
  });
});
