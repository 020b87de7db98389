import { HttpStatus } from '@nestjs/common';
import { FhirError } from '../fhir-error';

/**
 * A request the access guard refuses: 401 (no or bad token), 403 (a scope missing), 429 (over the client's rate
 * limit). Answered as an OperationOutcome on every path, /fhir or not, so every client reads one shape.
 */
export class AccessDeniedError extends FhirError {
  static unauthenticated(diagnostics: string): AccessDeniedError {
    return new AccessDeniedError(HttpStatus.UNAUTHORIZED, 'login', diagnostics);
  }

  static forbidden(diagnostics: string): AccessDeniedError {
    return new AccessDeniedError(HttpStatus.FORBIDDEN, 'forbidden', diagnostics);
  }

  static throttled(diagnostics: string): AccessDeniedError {
    return new AccessDeniedError(HttpStatus.TOO_MANY_REQUESTS, 'throttled', diagnostics);
  }
}
