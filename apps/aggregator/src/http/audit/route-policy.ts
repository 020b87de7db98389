import type { Request } from 'express';
import { ACCESS_POLICY, type AccessPolicy } from '../security/access-policy';

/**
 * The access policy of the route that answered a request. Nest copies a handler's metadata (its `@Access`) onto
 * the function it registers with Express, so the route Express matched carries it: found the same way for a
 * handler's answer, an exception the filter turned into an answer and a refusal the guard threw.
 */
export function routePolicyOf(request: Request): AccessPolicy | undefined {
  const route = request.route as { stack?: { handle?: object }[] } | undefined;
  for (const layer of route?.stack ?? []) {
    const policy = layer.handle
      ? (Reflect.getMetadata(ACCESS_POLICY, layer.handle) as AccessPolicy)
      : undefined;
    if (policy) return policy;
  }
  return undefined;
}

/** The route's pattern as registered (`/fhir/:type/:id`), never the path with its ids. */
export function routePatternOf(request: Request): string | undefined {
  const path = (request.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${request.baseUrl}${path}` : undefined;
}
