import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { OperationOutcome } from 'fhir/r4';
import { SearchTooCostlyError } from '@fa/fhir';
import { createLogger, knownFailureKind, sqlStateOf } from '@fa/platform';
import { FhirError } from './fhir-error';
import { AccessDeniedError } from './security/access-denied';

const log = createLogger('http');

/** Where errors are FHIR OperationOutcomes: the FHIR API and the routes that answer about FHIR data. */
const OPERATION_OUTCOME_PATHS = ['/fhir', '/revenue-cycle/', '/clinical/', '/bulk-data/'];

/**
 * Every error leaves as JSON: an OperationOutcome under /fhir, /revenue-cycle, /clinical and /bulk-data (FHIR and
 * Bulk Data clients parse nothing else), Nest's usual error body elsewhere. Unexpected errors are logged with the
 * request id only, never with bodies.
 */
@Catch()
export class FhirExceptionFilter implements ExceptionFilter {
  catch(thrown: unknown, host: ArgumentsHost): void {
    let exception = thrown;
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    // A search too costly to run (a chain or _has over SEARCH_LINK_LIMIT), from any route that searches.
    if (exception instanceof SearchTooCostlyError)
      exception = new FhirError(HttpStatus.BAD_REQUEST, 'too-costly', exception.message, [
        exception.parameter,
      ]);
    const unavailable = storeUnavailable(exception);
    if (unavailable) {
      response.setHeader('Retry-After', String(unavailable.retryAfterSeconds));
      exception = unavailable.error;
    }
    const status =
      exception instanceof HttpException ? exception.getStatus() : HttpStatus.INTERNAL_SERVER_ERROR;
    if (unavailable) {
      // Expected under load or during an outage: a warning, with the SQLSTATE, not an error.
      log.warn(
        {
          requestId: response.getHeader('x-request-id'),
          method: request.method,
          route: request.route?.path,
          err: errorName(thrown),
        },
        'request answered 503',
      );
    } else if (status >= 500) {
      log.error(
        {
          requestId: response.getHeader('x-request-id'),
          method: request.method,
          route: request.route?.path,
          err: errorName(thrown),
        },
        'request failed',
      );
    }
    // Nest's error body outside them; an access refusal is an OperationOutcome on every path.
    if (
      !OPERATION_OUTCOME_PATHS.some((prefix) => request.path.startsWith(prefix)) &&
      !(exception instanceof AccessDeniedError)
    ) {
      const body =
        exception instanceof HttpException
          ? exception.getResponse()
          : { statusCode: status, message: 'Internal server error' };
      response.status(status).json(typeof body === 'string' ? { statusCode: status, message: body } : body);
      return;
    }
    response
      .status(status)
      .type('application/fhir+json')
      .send(JSON.stringify(toOutcome(exception, status)));
  }
}

/**
 * A query PostgreSQL cancelled at its time budget (statement_timeout, 57014), or a store that is down or busy
 * (a transient failure, see classifyFailure): 503 with Retry-After, never 500.
 */
function storeUnavailable(exception: unknown): { error: FhirError; retryAfterSeconds: number } | undefined {
  if (exception instanceof HttpException) return undefined;
  if (sqlStateOf(exception) === '57014') {
    return {
      error: new FhirError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'timeout',
        'The query ran over its time budget (QUERY_TIMEOUT) and was cancelled; narrow it (more specific parameters, a smaller _count, fewer _include) or try again later',
      ),
      retryAfterSeconds: 10,
    };
  }
  if (knownFailureKind(exception) === 'transient') {
    return {
      error: new FhirError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'transient',
        'The store is unavailable or busy; try again later',
      ),
      retryAfterSeconds: 5,
    };
  }
  return undefined;
}

function toOutcome(exception: unknown, status: number): OperationOutcome {
  if (exception instanceof FhirError) return exception.toOperationOutcome();
  const message =
    exception instanceof HttpException
      ? flattenMessage(exception.getResponse())
      : 'Internal server error; the request id in the logs identifies it';
  const code =
    status === 404 ? 'not-found' : status === 405 ? 'not-supported' : status < 500 ? 'invalid' : 'exception';
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: message }] };
}

function flattenMessage(body: string | object): string {
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  return Array.isArray(message) ? message.join('; ') : String(message ?? 'Error');
}

/** Name and SQLSTATE only: error messages can quote request or resource content (PHI). */
function errorName(exception: unknown): string {
  if (!(exception instanceof Error)) return 'unknown';
  const code = (exception as { code?: unknown }).code;
  return typeof code === 'string' ? `${exception.name} (${code})` : exception.name;
}
