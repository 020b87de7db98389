import type { Parameters } from 'fhir/r4';
import { FhirError } from '../../fhir-error';

/**
 * The reviewer a decision names: the X-Reviewer header (this service has no user authentication yet), which
 * the decision events keep. Shared by the MDM and the duplicate-claim review operations.
 */
export function reviewerOf(header: string | undefined): string {
  if (!header || !/^[\w.@-]{1,64}$/.test(header)) {
    throw FhirError.badRequest(
      'Reviewer decisions need an X-Reviewer header (1-64 of letters, digits, . @ _ -)',
      'X-Reviewer',
    );
  }
  return header;
}

/** The body of a state-changing operation: a FHIR Parameters resource. */
export function parametersBody(body: unknown): Parameters {
  const parameters = body as Parameters | undefined;
  if (!parameters || parameters.resourceType !== 'Parameters' || !Array.isArray(parameters.parameter)) {
    throw FhirError.badRequest('The body must be a FHIR Parameters resource', 'body');
  }
  return parameters;
}
