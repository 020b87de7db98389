import { isR4ResourceType } from '@fa/fhir';
import { parseScopes, ScopeGrants } from './domain/scopes';

const CACHE_LIMIT = 1000;
const cache = new Map<string, ScopeGrants>();

/** What a token's granted scopes (as the token carries them, SMART v2) allow; parsed once per scope set. */
export function grantsOf(scopes: readonly string[]): ScopeGrants {
  const key = scopes.join(' ');
  let grants = cache.get(key);
  if (!grants) {
    grants = new ScopeGrants(key ? parseScopes(key, isR4ResourceType) : []);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, grants);
  }
  return grants;
}
