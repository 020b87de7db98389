import { parseFhirDateRange } from '../fhir-instant';
import { isR4ResourceType } from '../resource-types';
import type { SearchParameterRegistry } from './search-parameters';
import { IncludeSpec, SearchParameterError, SearchRequest } from './search-filter';
import { parseParameter } from './parse-filter';
import { quote, splitValues } from './search-value-parse';

export * from './search-filter';
export { MAX_CHAIN_DEPTH } from './parse-filter';

export const DEFAULT_SEARCH_COUNT = 20;
export const MAX_SEARCH_COUNT = 1000;

/** Result parameters (and transport ones) this server understands besides the type's search parameters. */
export const RESULT_PARAMETERS = [
  '_count',
  '_offset',
  '_sort',
  '_total',
  '_summary',
  '_elements',
  '_include',
  '_include:iterate',
  '_revinclude',
  '_revinclude:iterate',
  '_asOf',
  '_format',
  '_pretty',
] as const;
const RESULT_PARAMETER_SET = new Set<string>(RESULT_PARAMETERS);

/** As an HTTP query parser gives them; structured values (a[b]=c) are rejected. */
export type RawParams = Record<string, unknown>;

/**
 * Turns a FHIR search query string (as parsed into name → value(s)) into a typed request. Throws
 * SearchParameterError for any malformed value, naming the parameter; unknown parameters are collected, not thrown,
 * because whether they are an error depends on the client's Prefer: handling.
 */
export function parseSearchRequest(
  resourceType: string,
  params: RawParams,
  registry: SearchParameterRegistry,
  options: { defaultCount?: number; maxCount?: number } = {},
): SearchRequest {
  const request: SearchRequest = {
    resourceType,
    filters: [],
    sort: [],
    count: options.defaultCount ?? DEFAULT_SEARCH_COUNT,
    offset: 0,
    totalMode: 'none',
    summaryCount: false,
    includes: [],
    revIncludes: [],
    unknown: [],
  };
  for (const [name, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    const occurrences = Array.isArray(raw) ? raw : [raw];
    if (!occurrences.every((o) => typeof o === 'string')) {
      throw new SearchParameterError(name, `${name}: expected a plain value, not a structured one`);
    }
    if (RESULT_PARAMETER_SET.has(name)) {
      applyResultParameter(request, name, occurrences, registry, options.maxCount ?? MAX_SEARCH_COUNT);
      continue;
    }
    for (const occurrence of occurrences) {
      const filter = parseParameter(resourceType, name, occurrence, registry);
      if (!filter) {
        request.unknown.push(name);
        break;
      }
      request.filters.push(filter);
    }
  }
  return request;
}

function applyResultParameter(
  request: SearchRequest,
  name: string,
  occurrences: string[],
  registry: SearchParameterRegistry,
  maxCount: number,
): void {
  const only = (): string => {
    if (occurrences.length > 1) throw new SearchParameterError(name, `${name} may be given only once`);
    return occurrences[0];
  };
  switch (name) {
    case '_count':
    case '_offset': {
      const value = only();
      if (!/^\d{1,9}$/.test(value))
        throw new SearchParameterError(name, `${name} must be a non-negative integer, got ${quote(value)}`);
      if (name === '_count') request.count = Math.min(Number(value), maxCount);
      else request.offset = Number(value);
      return;
    }
    case '_total': {
      const value = only();
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate')
        throw new SearchParameterError(
          name,
          `_total must be none, estimate or accurate, got ${quote(value)}`,
        );
      request.totalMode = value;
      return;
    }
    case '_summary': {
      const value = only();
      if (value === 'count') request.summaryCount = true;
      else if (value !== 'false')
        throw new SearchParameterError(name, `_summary supports count and false, got ${quote(value)}`);
      return;
    }
    case '_elements':
      request.elements = occurrences.flatMap(splitValues).map((element) => {
        if (!/^[a-z][A-Za-z0-9]*$/.test(element))
          throw new SearchParameterError(
            name,
            `_elements: ${quote(element)} is not a top-level element name`,
          );
        return element;
      });
      return;
    case '_sort':
      for (const key of occurrences.flatMap(splitValues)) {
        const descending = key.startsWith('-');
        const code = descending ? key.slice(1) : key;
        if (code === '_id' || code === '_lastUpdated') {
          request.sort.push({ column: code, descending });
          continue;
        }
        const definition = registry.get(request.resourceType, code);
        if (!definition)
          throw new SearchParameterError(
            name,
            `_sort: ${quote(code)} is not a search parameter of ${request.resourceType}`,
          );
        if (definition.type === 'composite')
          throw new SearchParameterError(
            name,
            `_sort: ${quote(code)} is a composite; sort by one of its components`,
          );
        request.sort.push({ definition, descending });
      }
      return;
    case '_include':
    case '_include:iterate':
    case '_revinclude':
    case '_revinclude:iterate': {
      const reverse = name.startsWith('_revinclude');
      for (const value of occurrences) {
        const spec = parseInclude(name, value, registry, name.endsWith(':iterate'));
        (reverse ? request.revIncludes : request.includes).push(spec);
      }
      return;
    }
    case '_asOf': {
      const value = only();
      const range = parseFhirDateRange(value);
      if (!range)
        throw new SearchParameterError(
          name,
          `_asOf must be a FHIR date, dateTime or instant, got ${quote(value)}`,
        );
      request.asOf = range.end;
      return;
    }
    default:
      // _format and _pretty: the server always answers FHIR JSON.
      return;
  }
}

function parseInclude(
  name: string,
  value: string,
  registry: SearchParameterRegistry,
  iterate: boolean,
): IncludeSpec {
  const [sourceType, param, targetType, ...rest] = value.split(':');
  if (rest.length > 0 || !sourceType || !param)
    throw new SearchParameterError(
      name,
      `${name} must be <Type>:<parameter>[:<TargetType>], got ${quote(value)}`,
    );
  if (!isR4ResourceType(sourceType))
    throw new SearchParameterError(name, `${name}: unknown resource type ${quote(sourceType)}`);
  const definition = registry.get(sourceType, param);
  if (!definition || definition.type !== 'reference')
    throw new SearchParameterError(
      name,
      `${name}: ${quote(param)} is not a reference parameter of ${sourceType}`,
    );
  if (targetType !== undefined && !isR4ResourceType(targetType))
    throw new SearchParameterError(name, `${name}: unknown target type ${quote(targetType)}`);
  return { sourceType, param, ...(targetType ? { targetType } : {}), iterate };
}
