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

/**
 * The POST form of an operation whose definition routes it by GET (FHIR allows POST with a Parameters body for
 * any operation; Bulk Data's kick-off needs both). The handler beside the GET one; the registry counts the
 * definition once, by its @FhirOperation.
 */
export function FhirOperationByPost(definition: FhirOperationDefinition): MethodDecorator {
  if (operationMethod(definition) === 'POST')
    throw new Error(`${definition.id} is already routed by POST: @FhirOperation declares it`);
  return Post(operationRoute(definition));
}
