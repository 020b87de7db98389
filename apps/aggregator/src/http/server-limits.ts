import { maxHeaderSize, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import type { OperationOutcome } from 'fhir/r4';

type IssueCode = OperationOutcome['issue'][number]['code'];

export const JSON_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
export const FORM_BODY_LIMIT_BYTES = 1024 * 1024;

const POST_SEARCH_HINT =
  'send the search as POST [base]/[type]/_search with the parameters in an application/x-www-form-urlencoded body';

function outcome(code: IssueCode, diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

/** A request line longer than this (within a header overflow) means the URL is what is too long. */
const LONG_REQUEST_LINE = 8 * 1024;

/**
 * Node answers requests it cannot parse (a URL or headers over its maxHeaderSize, bad syntax) itself, with
 * an empty body. This answers them as a FHIR server: 414 URI Too Long when the request line is what overflows,
 * 431 when the headers are, 400 otherwise, each with an OperationOutcome (and the way out: POST _search).
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    let status = 400;
    let reason = 'Bad Request';
    let body = outcome('structure', 'The request is not valid HTTP');
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      const raw = error.rawPacket;
      const lineEnd = raw ? raw.indexOf('\r\n') : -1;
      if (!raw || lineEnd < 0 || lineEnd > LONG_REQUEST_LINE) {
        status = 414;
        reason = 'URI Too Long';
        body = outcome(
          'too-long',
          `The URL is longer than this server accepts (${maxHeaderSize} bytes with the headers); ${POST_SEARCH_HINT}`,
        );
      } else {
        status = 431;
        reason = 'Request Header Fields Too Large';
        body = outcome(
          'too-long',
          `The request's headers are larger than this server accepts (${maxHeaderSize} bytes); for a long search, ${POST_SEARCH_HINT}`,
        );
      }
    } else if (error.code === 'HPE_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      reason = 'Request Timeout';
      body = outcome('timeout', 'The request did not arrive in time');
    }
    const text = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/fhir+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  });
}

/**
 * Errors of the body parsers (they run before any route, so Nest's filter never sees them): 413 for a body
 * over the limit, 400 for one that does not parse, 415 for an unsupported charset — each an OperationOutcome.
 */
export function answerBodyErrors(
  error: { type?: string; status?: number; limit?: number },
  request: Request,
  response: Response,
  next: NextFunction,
): void {
  let status: number;
  let body: OperationOutcome;
  if (error.type === 'entity.too.large') {
    status = 413;
    body = outcome('too-costly', `The request body is over the limit of ${error.limit ?? '?'} bytes`);
  } else if (error.type === 'entity.parse.failed') {
    status = 400;
    body = outcome('structure', 'The request body is not valid JSON');
  } else if (error.type === 'charset.unsupported' || error.type === 'encoding.unsupported') {
    status = 415;
    body = outcome('not-supported', 'The request body has an unsupported charset or content encoding');
  } else if (typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
    status = error.status;
    body = outcome('invalid', 'The request body cannot be read');
  } else {
    next(error);
    return;
  }
  if (request.path.startsWith('/fhir')) {
    response.status(status).type('application/fhir+json').send(JSON.stringify(body));
  } else {
    response.status(status).json({ statusCode: status, message: body.issue[0].diagnostics });
  }
}
