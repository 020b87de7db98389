import { applyDecorators, Get, Post, SetMetadata } from '@nestjs/common';
import { operationRoute, type FhirOperationDefinition } from '@fa/fhir';

export const FHIR_OPERATION = 'fhir-aggregator:operation';

/**
 * Declares a handler as the implementation of an operation: the route comes from the definition (GET when it
 * does not affect state, else POST), and the definition is found by the OperationRegistry for the
 * CapabilityStatement and GET /fhir/OperationDefinition/<id>. A `$` route without it fails the route-table test.
 */
export function FhirOperation(definition: FhirOperationDefinition): MethodDecorator {
  const route = operationRoute(definition);
  return applyDecorators(
    definition.affectsState ? Post(route) : Get(route),
    SetMetadata(FHIR_OPERATION, definition),
  );
}
