import type { Response } from 'express';
import { stringifyFhirJson } from '@fa/fhir';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * Sends a FHIR resource with the FHIR media type and, for versioned resources, ETag and Last-Modified. Decimals go
 * out as written (stringifyFhirJson): every FHIR response (read, vread, history, search, $everything) comes here.
 */
export function sendFhir(response: Response, body: unknown, status = 200): void {
  const resource = body as { meta?: { versionId?: string; lastUpdated?: string } };
  if (resource.meta?.versionId) response.setHeader('ETag', `W/"${resource.meta.versionId}"`);
  if (resource.meta?.lastUpdated)
    response.setHeader('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  const text = stringifyFhirJson(body);
  (response.locals as SentFhirLocals)[SENT_FHIR] = { document: body, text };
  response.status(status).type(FHIR_JSON).send(text);
}

const SENT_FHIR = Symbol('sent FHIR document');
type SentFhirLocals = { [SENT_FHIR]?: { document: unknown; text: string } };

/**
 * The document sendFhir serialized into exactly these body bytes, so the access audit reads its patients from it
 * instead of parsing the body again; undefined for any other body (an error's OperationOutcome, a streamed part,
 * a HEAD or 304 answer without the body).
 */
export function sentFhirDocument(response: Response, body: Buffer): { document: unknown } | undefined {
  const sent = (response.locals as SentFhirLocals)[SENT_FHIR];
  if (!sent || body.length !== Buffer.byteLength(sent.text)) return undefined;
  return sent;
}

/** Base URL of the FHIR endpoint as the client addressed it (honours a proxy's forwarded headers). */
export function fhirBaseUrl(request: { protocol: string; get(name: string): string | undefined }): string {
  const proto = request.get('x-forwarded-proto') ?? request.protocol;
  const host = request.get('x-forwarded-host') ?? request.get('host') ?? 'localhost';
  return `${proto}://${host}/fhir`;
}

/** The server's origin as the client reached it (behind a proxy: X-Forwarded-Proto / -Host). */
export function serverOrigin(request: { protocol: string; get(name: string): string | undefined }): string {
  return fhirBaseUrl(request).replace(/\/fhir$/, '');
}
