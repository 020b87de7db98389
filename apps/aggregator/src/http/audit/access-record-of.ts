import type { Request, Response } from 'express';
import { AccessRecord, patientsInBody, patientsInDocument } from '@fa/audit';
import { sentFhirDocument } from '../fhir-json';
import { principalOf, type Principal } from '../security/access-policy';
import { routePatternOf, routePolicyOf } from './route-policy';

/**
 * The access record of an answer about to leave (or of one part of a streamed answer), or undefined when the
 * answer is not audited: no route took the request, or a public route answered without establishing or refusing
 * a caller.
 */
export function accessRecordOf(
  request: Request,
  response: Response,
  body: Buffer,
  part: number | undefined,
): AccessRecord | undefined {
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
  const sent = part === undefined ? sentFhirDocument(response, body) : undefined;
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
    patients: sent
      ? patientsInDocument(sent.document)
      : patientsInBody(body.toString('utf8'), typeof contentType === 'string' ? contentType : undefined),
    status,
    ...(part !== undefined ? { part } : {}),
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
