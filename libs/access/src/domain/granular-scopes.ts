import { extractIndexValues, type SearchParameterRegistry } from '@fa/fhir';
import { ResourceScope, ScopeError } from './scopes';

/**
 * Granular scopes (`system/Observation.rs?category=laboratory`): a constraint names token search parameters of
 * the type, and a resource is within it when its index values for each parameter hold the code (`code` or
 * `system|code`), as a search for `?category=laboratory` would find it.
 */
export function checkGranularScope(scope: ResourceScope, registry: SearchParameterRegistry): void {
  for (const name of Object.keys(scope.constraint ?? {})) {
    const definition = registry.get(scope.type, name);
    if (!definition || definition.type !== 'token')
      throw new ScopeError(scope.text, `${name} is not a token search parameter of ${scope.type}`);
  }
}

export function matchesConstraint(
  resource: { resourceType: string } & Record<string, unknown>,
  constraint: Readonly<Record<string, string>>,
  registry: SearchParameterRegistry,
): boolean {
  return Object.entries(constraint).every(([name, wanted]) => {
    const definition = registry.get(resource.resourceType, name);
    if (!definition) return false;
    const only = { parametersOf: () => [definition] } as unknown as SearchParameterRegistry;
    const [system, code] = wanted.includes('|') ? wanted.split('|') : [undefined, wanted];
    return extractIndexValues(resource, only).tokens.some(
      (t) => t.param === name && t.code === code && (system === undefined || t.system === (system || null)),
    );
  });
}

/** Whether a resource is within one of the constraints the grants give for its type ('all': any resource). */
export function withinConstraints(
  resource: { resourceType: string } & Record<string, unknown>,
  constraints: 'all' | readonly Readonly<Record<string, string>>[],
  registry: SearchParameterRegistry,
): boolean {
  return constraints === 'all' || constraints.some((c) => matchesConstraint(resource, c, registry));
}
