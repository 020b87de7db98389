import { parseFhirDateRange } from '../fhir-instant';
import { parseReference } from '../references';
import { searchValueTooLong } from '../input-limits';
import { FHIR_ID_PATTERN, isR4ResourceType } from '../resource-types';
import { normalizeString } from './index-values';
import type { SearchParameterDefinition, SearchParameterRegistry } from './search-parameters';

/** A search parameter's value the server cannot use: answered with 400 and an OperationOutcome naming it. */
export class SearchParameterError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
    this.name = 'SearchParameterError';
  }
}

export type Prefix = 'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge' | 'sa' | 'eb' | 'ap';
const PREFIXES = new Set<string>(['eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb', 'ap']);

export interface TokenValue {
  /** undefined: any system; null: no system (`|code`). */
  system?: string | null;
  /** undefined: any code in the system (`system|`). */
  code?: string;
}
export interface DateValue {
  prefix: Prefix;
  start: Date;
  end: Date;
}
/** Numbers as exact decimal text (for PostgreSQL's numeric): no double rounding at any step. */
export interface NumberValue {
  prefix: Prefix;
  value: string;
  /** The implicit range of the value's written precision ("5.4" is [5.35, 5.45)), computed exactly. */
  low: string;
  high: string;
  system?: string;
  code?: string;
}
export interface ReferenceValue {
  type?: string;
  id?: string;
  /** A canonical or absolute URL that is not one of ours, matched as written. */
  raw?: string;
}

/** One parameter occurrence: its values are alternatives (comma = OR); occurrences are all required (AND). */
export type SearchFilter =
  | { kind: 'id'; parameter: string; values: string[]; not: boolean }
  | { kind: 'lastUpdated'; parameter: string; values: DateValue[] }
  | { kind: 'missing'; parameter: string; definition: SearchParameterDefinition; missing: boolean }
  | {
      kind: 'token';
      parameter: string;
      definition: SearchParameterDefinition;
      indexParam: string;
      values: TokenValue[];
      not: boolean;
    }
  | { kind: 'uri'; parameter: string; definition: SearchParameterDefinition; values: string[] }
  | {
      kind: 'string';
      parameter: string;
      definition: SearchParameterDefinition;
      match: 'prefix' | 'exact' | 'contains';
      values: string[];
    }
  | { kind: 'date'; parameter: string; definition: SearchParameterDefinition; values: DateValue[] }
  | { kind: 'number'; parameter: string; definition: SearchParameterDefinition; values: NumberValue[] }
  | { kind: 'reference'; parameter: string; definition: SearchParameterDefinition; values: ReferenceValue[] };

export interface SortKey {
  /** A search parameter, or the column parameters _id and _lastUpdated. */
  definition?: SearchParameterDefinition;
  column?: '_id' | '_lastUpdated';
  descending: boolean;
}

export interface IncludeSpec {
  sourceType: string;
  param: string;
  targetType?: string;
  iterate: boolean;
}

export interface SearchRequest {
  resourceType: string;
  filters: SearchFilter[];
  sort: SortKey[];
  count: number;
  offset: number;
  totalMode: 'none' | 'estimate' | 'accurate';
  summaryCount: boolean;
  elements?: string[];
  includes: IncludeSpec[];
  revIncludes: IncludeSpec[];
  asOf?: Date;
  /** Parameters this server does not know; ignored under lenient handling and reported. */
  unknown: string[];
}

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
    const [code, modifier] = splitModifier(name);
    if (code.includes('.')) {
      throw new SearchParameterError(name, `${name}: chained parameters are not supported`);
    }
    if (code === '_id') {
      if (modifier !== undefined && modifier !== 'not')
        throw new SearchParameterError(name, `${name}: _id supports only :not`);
      for (const occurrence of occurrences) {
        const values = requiredValues(name, occurrence, 'id');
        for (const id of values) {
          if (!FHIR_ID_PATTERN.test(id))
            throw new SearchParameterError(name, `${name}: ${quote(id)} is not a valid id`);
        }
        request.filters.push({ kind: 'id', parameter: name, values, not: modifier === 'not' });
      }
      continue;
    }
    if (code === '_lastUpdated') {
      if (modifier !== undefined)
        throw new SearchParameterError(name, `${name}: no modifiers on _lastUpdated`);
      for (const occurrence of occurrences) {
        request.filters.push({
          kind: 'lastUpdated',
          parameter: name,
          values: requiredValues(name, occurrence, 'date').map((v) => parseDateValue(name, v)),
        });
      }
      continue;
    }
    const definition = registry.get(resourceType, code);
    if (!definition) {
      request.unknown.push(name);
      continue;
    }
    for (const occurrence of occurrences)
      request.filters.push(parseFilter(name, definition, modifier, occurrence));
  }
  return request;
}

function parseFilter(
  name: string,
  definition: SearchParameterDefinition,
  modifier: string | undefined,
  occurrence: string,
): SearchFilter {
  const values = requiredValues(name, occurrence, definition.type);
  if (modifier === 'missing') {
    if (occurrence !== 'true' && occurrence !== 'false')
      throw new SearchParameterError(name, `${name}: :missing takes true or false, got ${quote(occurrence)}`);
    return { kind: 'missing', parameter: name, definition, missing: occurrence === 'true' };
  }
  const base = { parameter: name, definition };
  const unsupported = () =>
    new SearchParameterError(
      name,
      `${name}: modifier :${modifier} is not supported on ${definition.type} parameters`,
    );
  switch (definition.type) {
    case 'token':
      if (modifier !== undefined && modifier !== 'not') throw unsupported();
      return {
        kind: 'token',
        ...base,
        indexParam: definition.code,
        values: values.map(parseTokenValue),
        not: modifier === 'not',
      };
    case 'uri':
      if (modifier !== undefined) throw unsupported();
      return { kind: 'uri', ...base, values };
    case 'string':
      if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains') throw unsupported();
      return {
        kind: 'string',
        ...base,
        match: modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'prefix',
        values: modifier === 'exact' ? values : values.map(normalizeString),
      };
    case 'date':
      if (modifier !== undefined) throw unsupported();
      return { kind: 'date', ...base, values: values.map((v) => parseDateValue(name, v)) };
    case 'number':
    case 'quantity':
      if (modifier !== undefined) throw unsupported();
      return {
        kind: 'number',
        ...base,
        values: values.map((v) => parseNumberValue(name, v, definition.type === 'quantity')),
      };
    case 'reference': {
      if (modifier === 'identifier') {
        return {
          kind: 'token',
          ...base,
          indexParam: `${definition.code}:identifier`,
          values: values.map(parseTokenValue),
          not: false,
        };
      }
      let type: string | undefined;
      if (modifier !== undefined) {
        if (!isR4ResourceType(modifier)) throw unsupported();
        if (definition.targets.length > 0 && !definition.targets.includes(modifier))
          throw new SearchParameterError(name, `${name}: ${definition.code} cannot refer to ${modifier}`);
        type = modifier;
      }
      return { kind: 'reference', ...base, values: values.map((v) => parseReferenceValue(name, v, type)) };
    }
  }
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

function splitModifier(name: string): [string, string | undefined] {
  const colon = name.indexOf(':');
  return colon < 0 ? [name, undefined] : [name.slice(0, colon), name.slice(colon + 1)];
}

/**
 * The alternatives of one occurrence; none at all ("", ",") is a client error, not an empty OR, and so is one
 * longer than its parameter type's limit (input hygiene's, input-limits.ts).
 */
function requiredValues(name: string, occurrence: string, type: string): string[] {
  const values = splitValues(occurrence);
  if (values.length === 0) throw new SearchParameterError(name, `${name}: a value is required`);
  for (const value of values) {
    const tooLong = searchValueTooLong(name, type, value);
    if (tooLong) throw new SearchParameterError(name, tooLong);
  }
  return values;
}

/** Comma separates alternatives; "\," is a literal comma. */
function splitValues(value: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && i + 1 < value.length) {
      current += value[++i];
    } else if (value[i] === ',') {
      values.push(current);
      current = '';
    } else {
      current += value[i];
    }
  }
  values.push(current);
  return values.filter((v) => v !== '');
}

function parseTokenValue(value: string): TokenValue {
  const bar = value.indexOf('|');
  if (bar < 0) return { code: value };
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  return { system: system === '' ? null : system, ...(code === '' ? {} : { code }) };
}

function splitPrefix(value: string): [Prefix, string] {
  const prefix = value.slice(0, 2);
  if (PREFIXES.has(prefix) && !/^\d/.test(prefix)) return [prefix as Prefix, value.slice(2)];
  return ['eq', value];
}

function parseDateValue(name: string, raw: string): DateValue {
  const [prefix, rest] = splitPrefix(raw);
  if (/^[a-z]/i.test(rest))
    throw new SearchParameterError(
      name,
      `${name}: unknown prefix in ${quote(raw)} (use eq ne lt gt le ge sa eb ap)`,
    );
  const range = parseFhirDateRange(rest);
  if (!range)
    throw new SearchParameterError(
      name,
      `${name}: ${quote(rest)} is not a valid FHIR date, dateTime or instant`,
    );
  return { prefix, start: range.start, end: range.end };
}

function parseNumberValue(name: string, raw: string, quantity: boolean): NumberValue {
  const [prefix, rest] = splitPrefix(raw);
  const [numberText, system, code, ...extra] = rest.split('|');
  if (!quantity && (system !== undefined || extra.length > 0))
    throw new SearchParameterError(name, `${name}: ${quote(raw)} is not a number`);
  if (extra.length > 0) throw new SearchParameterError(name, `${name}: ${quote(raw)} has too many | parts`);
  const match = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(numberText);
  if (!match) {
    const hint = /^[a-z]{2}/.test(raw) ? ' (unknown prefix; use eq ne lt gt le ge sa eb ap)' : '';
    throw new SearchParameterError(name, `${name}: ${quote(raw)} is not a number${hint}`);
  }
  // numberText = digits × 10^-scale exactly; half a unit of the last written digit is 5 × 10^-(scale + 1).
  const digits = BigInt(`${numberText.startsWith('-') ? '-' : ''}${match[1]}${match[2] ?? ''}`);
  const scale = (match[2]?.length ?? 0) - (match[3] ? Number(match[3]) : 0);
  if (Math.abs(scale) > 1000)
    throw new SearchParameterError(name, `${name}: ${quote(raw)} has an exponent out of range`);
  return {
    prefix,
    value: decimalString(digits, scale),
    low: decimalString(digits * 10n - 5n, scale + 1),
    high: decimalString(digits * 10n + 5n, scale + 1),
    ...(system ? { system } : {}),
    ...(code ? { code } : {}),
  };
}

/** digits × 10^-scale as plain decimal text. */
function decimalString(digits: bigint, scale: number): string {
  if (scale <= 0) return (digits * 10n ** BigInt(-scale)).toString();
  const negative = digits < 0n;
  const text = (negative ? -digits : digits).toString().padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${text.slice(0, -scale)}.${text.slice(-scale)}`;
}

function parseReferenceValue(name: string, value: string, type: string | undefined): ReferenceValue {
  if (FHIR_ID_PATTERN.test(value)) return { ...(type ? { type } : {}), id: value };
  const parsed = parseReference(value);
  if (parsed.kind === 'literal') {
    if (type && parsed.resourceType !== type)
      throw new SearchParameterError(name, `${name}: ${quote(value)} is not a ${type} reference`);
    return { type: parsed.resourceType, id: parsed.id };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) return { raw: value };
  throw new SearchParameterError(
    name,
    `${name}: ${quote(value)} is not a reference (<Type>/<id>, <id> or a URL)`,
  );
}

function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
