import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { sqlStateOf } from '@fa/platform';
import { AccessRecord, patientsInBody } from '@fa/audit';
import { principalOf, type Principal } from '../security/access-policy';
import { routePatternOf, routePolicyOf } from './route-policy';

export type RecordAccess = (record: AccessRecord) => Promise<void>;

type Chunk = string | Buffer | Uint8Array;
type Callback = (error?: Error | null) => void;

/**
 * The access audit's hook on the one place every answer leaves: the response's own write/end. Whatever produced
 * the answer — a handler's sendFhir, Nest returning a value, a stream of rows, the exception filter's
 * OperationOutcome for an error or a guard's refusal — its bytes are held until its audit record is committed
 * (group commit: see AccessJournal), then sent. When the record cannot be written the answer is withheld: 503
 * with an OperationOutcome (or a closed connection once headers left), so no data leaves unaudited.
 *
 * What is audited is decided by the route's declared access policy: every resource or scope route; a public
 * route when it established a principal (a token grant) or refused the request (4xx: a refused grant); a route
 * without a policy always (it should not exist). Requests no route took (refused by the body limits or input
 * hygiene before routing) touched nothing and are not audited.
 */
export function accessAudit(recordAccess: RecordAccess, log: Logger) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const end = response.end.bind(response) as (chunk?: Chunk, callback?: () => void) => Response;
    const held: Buffer[] = [];
    let ended = false;
    response.write = function (chunk: Chunk, encoding?: BufferEncoding | Callback, callback?: Callback) {
      held.push(toBuffer(chunk, typeof encoding === 'string' ? encoding : undefined));
      const done = typeof encoding === 'function' ? encoding : callback;
      if (done) process.nextTick(done);
      return true;
    } as Response['write'];
    response.end = function (
      chunk?: Chunk | (() => void),
      encoding?: BufferEncoding | (() => void),
      callback?: () => void,
    ) {
      if (ended) return response;
      ended = true;
      const done = [chunk, encoding, callback].find((a) => typeof a === 'function') as
        (() => void) | undefined;
      if (chunk !== undefined && typeof chunk !== 'function')
        held.push(toBuffer(chunk, typeof encoding === 'string' ? encoding : undefined));
      const body = held.length === 1 ? held[0] : Buffer.concat(held);
      const record = accessRecordOf(request, response, body);
      if (!record) {
        end(body, done);
        return response;
      }
      recordAccess(record).then(
        () => end(body, done),
        (error: unknown) => {
          log.warn(
            { requestId: record.requestId, route: record.route, sqlState: sqlStateOf(error) },
            'access audit unavailable: response withheld',
          );
          withhold(response, end, done);
        },
      );
      return response;
    } as Response['end'];
    next();
  };
}

function toBuffer(chunk: Chunk, encoding: BufferEncoding | undefined): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
}

function accessRecordOf(request: Request, response: Response, body: Buffer): AccessRecord | undefined {
  const route = routePatternOf(request);
  if (route === undefined) return undefined;
  const policy = routePolicyOf(request);
  const principal: Principal | undefined = principalOf(request as { principal?: Principal });
  const status = response.statusCode;
  let interaction: string;
  if (!policy) interaction = 'undeclared';
  else if ('public' in policy) {
    if (!principal && (status < 400 || status >= 500)) return undefined;
    interaction = 'public';
  } else interaction = policy.interaction;
  const contentType = response.getHeader('content-type');
  return {
    recorded: new Date().toISOString(),
    requestId: String(response.getHeader('x-request-id') ?? ''),
    client: principal?.clientId ?? null,
    scopes: principal ? [...principal.scopes] : [],
    address: request.ip ?? request.socket.remoteAddress ?? 'unknown',
    method: request.method,
    route,
    interaction,
    query: queryOf(request, interaction),
    patients: patientsInBody(
      body.toString('utf8'),
      typeof contentType === 'string' ? contentType : undefined,
    ),
    status,
  };
}

/** The path and query as asked; a search sent as a form adds its parameters (they are the query). */
function queryOf(request: Request, interaction: string): string {
  const asked = request.originalUrl;
  const form = request.body as Record<string, unknown> | undefined;
  if (interaction !== 'search' || !form || typeof form !== 'object' || !request.is('urlencoded'))
    return asked;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form))
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, String(v));
  const text = params.toString();
  return text ? `${asked}${asked.includes('?') ? '&' : '?'}${text}` : asked;
}

const WITHHELD = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [
    {
      severity: 'error',
      code: 'transient',
      diagnostics:
        'The access audit could not record this request, so its answer is withheld; try again later',
    },
  ],
});

function withhold(
  response: Response,
  end: (chunk?: Chunk, callback?: () => void) => Response,
  done?: () => void,
) {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  for (const name of response.getHeaderNames()) if (name !== 'x-request-id') response.removeHeader(name);
  response.statusCode = 503;
  response.setHeader('Retry-After', '5');
  response.setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  end(WITHHELD, done);
}
