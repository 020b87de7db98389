import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import { register } from 'prom-client';

/** Readiness wherever it is asked: the database answers. */
export async function databaseReady(pool: Pool): Promise<boolean> {
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/**
 * /health, /ready and /metrics for a process without the api role (ROLES=projections or kafka) on HEALTH_PORT:
 * what container health checks and Kubernetes probes ask, without serving the FHIR API. The api role answers
 * the same paths from its controllers.
 */
export async function startHealthServer(pool: Pool, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    const reply = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    };
    if (request.method !== 'GET') return reply(405, '{"status":"method not allowed"}');
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/health') return reply(200, '{"status":"ok"}');
    if (path === '/ready') {
      void databaseReady(pool).then((ready) =>
        ready ? reply(200, '{"status":"ready"}') : reply(503, '{"status":"database unreachable"}'),
      );
      return;
    }
    if (path === '/metrics') {
      void register.metrics().then(
        (text) => reply(200, text, register.contentType),
        () => reply(500, '{"status":"metrics failed"}'),
      );
      return;
    }
    reply(404, '{"status":"not found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
