import {
  parseSearchRequest,
  r4SearchParameters,
  RESULT_PARAMETERS,
  SearchParameterError,
  type SearchFilter,
} from '@fa/fhir';

export class TypeFilterError extends Error {
  override readonly name = 'TypeFilterError';
}

/** `_typeFilter` value: `<Type>?<search query>`, split into the type and its query. */
export function splitTypeFilter(value: string): { type: string; query: string } {
  const match = /^([A-Z][A-Za-z]+)\?(.+)$/s.exec(value);
  if (!match)
    throw new TypeFilterError(
      `_typeFilter must be "<ResourceType>?<search query>", got ${JSON.stringify(value.slice(0, 100))}`,
    );
  return { type: match[1], query: match[2] };
}

/**
 * A `_typeFilter`'s query as the search filters FHIR search would run for it (the same parser and registry):
 * a parameter the type does not have, a malformed value, or a result parameter (_count, _sort, _include ...)
 * is a TypeFilterError, never ignored — an ignored filter would export more than was asked for.
 */
export function parseTypeFilter(type: string, query: string): SearchFilter[] {
  const params: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(query)) (params[name] ??= []).push(value);
  const result = Object.keys(params).filter((name) =>
    (RESULT_PARAMETERS as readonly string[]).includes(name),
  );
  if (result.length > 0)
    throw new TypeFilterError(
      `_typeFilter ${type}?${query.slice(0, 100)}: ${result.join(', ')} is not supported in an export`,
    );
  if (Object.keys(params).length === 0)
    throw new TypeFilterError(`_typeFilter ${type}?: no search parameters`);
  let parsed;
  try {
    parsed = parseSearchRequest(type, params, r4SearchParameters());
  } catch (error) {
    if (error instanceof SearchParameterError)
      throw new TypeFilterError(`_typeFilter ${type}?${query.slice(0, 100)}: ${error.message}`);
    throw error;
  }
  if (parsed.unknown.length > 0)
    throw new TypeFilterError(
      `_typeFilter ${type}?${query.slice(0, 100)}: ${type} has no search parameter ${parsed.unknown.join(', ')}`,
    );
  return parsed.filters;
}

/**
 * The filter sets of a type: each `_typeFilter` (OR'ed), each AND'ed with the granular scope's constraint;
 * undefined when neither applies (every resource of the type).
 */
export function filterSetsOf(
  type: string,
  typeFilters: readonly string[] | undefined,
  constraint: string | undefined,
): SearchFilter[][] | undefined {
  const extra = constraint ? parseTypeFilter(type, constraint) : [];
  if (!typeFilters || typeFilters.length === 0) return constraint ? [extra] : undefined;
  return typeFilters.map((query) => [...parseTypeFilter(type, query), ...extra]);
}
