import { HttpStatus } from '@nestjs/common';
import type { Parameters } from 'fhir/r4';
import { FhirError } from '../../fhir-error';
import { principalOf } from '../../security/access-policy';

/**
 * The reviewer a decision names: the access token's client (the guard has checked the token and set the
 * principal; never a header the caller writes), which the decision events keep. Shared by the MDM and the
 * duplicate-claim review operations.
 */
export function reviewerOf(request: object): string {
  const principal = principalOf(request);
  if (!principal)
    throw new FhirError(HttpStatus.UNAUTHORIZED, 'login', 'A reviewer decision needs an access token');
  return principal.clientId;
}

/** The body of a state-changing operation: a FHIR Parameters resource. */
export function parametersBody(body: unknown): Parameters {
  const parameters = body as Parameters | undefined;
  if (!parameters || parameters.resourceType !== 'Parameters' || !Array.isArray(parameters.parameter)) {
    throw FhirError.badRequest('The body must be a FHIR Parameters resource', 'body');
  }
  return parameters;
}
