import { applyDecorators, Get, Post, SetMetadata } from '@nestjs/common';
import { operationMethod, operationRoute, type FhirOperationDefinition } from '@fa/fhir';

export const FHIR_OPERATION = 'fhir-aggregator:operation';

/**
 * Declares a handler as the implementation of an operation: the route comes from the definition (GET when it
 * does not affect state and all its inputs fit in a URL, else POST: `operationMethod`), and the definition is
 * found by the OperationRegistry for the CapabilityStatement and GET /fhir/OperationDefinition/<id>. A `$` route without it fails the route-table test.
 */
export function FhirOperation(definition: FhirOperationDefinition): MethodDecorator {
  const route = operationRoute(definition);
  return applyDecorators(
    operationMethod(definition) === 'POST' ? Post(route) : Get(route),
    SetMetadata(FHIR_OPERATION, definition),
  );
}
