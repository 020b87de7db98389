import type { Server } from 'node:http';
import { Pool } from 'pg';
import { createTestDatabase, TestDatabase } from '@fa/testkit';
import { portOf, startHealthServer } from './health-server';

describe('health server of a process without the api role', () => {
  let database: TestDatabase;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    database = await createTestDatabase(2);
    server = await startHealthServer(database.pool, 0);
    base = `http://127.0.0.1:${portOf(server)}`;
  });
  afterAll(async () => {
    server.close();
    await database.drop();
  });

  it('answers /health and /ready while the database answers, and serves /metrics', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect((await fetch(`${base}/fhir/metadata`)).status).toBe(404);
    expect((await fetch(`${base}/ready`, { method: 'POST' })).status).toBe(405);
  });

  it('is not ready when its database is unreachable, yet still alive', async () => {
    const unreachable = new Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', max: 1 });
    unreachable.on('error', () => undefined);
    const other = await startHealthServer(unreachable, 0);
    try {
      const url = `http://127.0.0.1:${portOf(other)}`;
      expect((await fetch(`${url}/ready`)).status).toBe(503);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      other.close();
      await unreachable.end();
    }
  });
});
