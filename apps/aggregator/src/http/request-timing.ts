import type { NextFunction, Request, Response } from 'express';
import { Histogram, register } from 'prom-client';

const requestDuration =
  (register.getSingleMetric('http_request_duration_seconds') as Histogram | undefined) ??
  new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests, from reaching the app to the last byte handed to the socket, by route',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  });

/**
 * Times every request. `Server-Timing: app;dur=<ms>` (W3C) gives the time until the response headers were
 * written, without the network or the client, so a client — or a benchmark sharing the machine — can tell the
 * server's latency from its own. The histogram, on /metrics, is by route pattern, never by id.
 */
export function requestTiming(request: Request, response: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
  const writeHead = response.writeHead;
  response.writeHead = function (this: Response, ...args: unknown[]) {
    if (!this.headersSent) this.setHeader('Server-Timing', `app;dur=${elapsedMs().toFixed(2)}`);
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as Response['writeHead'];
  response.once('finish', () => {
    const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
    requestDuration.observe(
      { method: request.method, route: `${request.baseUrl}${route}`, status: String(response.statusCode) },
      elapsedMs() / 1000,
    );
  });
  next();
}
