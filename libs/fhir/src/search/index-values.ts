import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { parseFhirDateRange } from '../fhir-instant';
import { decimalText, isFhirDecimal } from '../fhir-json';
import { parseReference } from '../references';
import { compositeValues } from './composite-values';
import type { IndexValues } from './index-value.types';
import { emptyIndexValues } from './index-value.types';
import type { SearchParameterDefinition, SearchParameterRegistry } from './search-parameters';
import { COLUMN_SEARCH_PARAMETERS } from './search-parameters';
import type { Compiled } from './member-path';
import { memberPathEvaluator } from './member-path';

export type * from './index-value.types';

/**
 * A token whose system and code take more than this many UTF-8 bytes is not indexed: a B-tree entry holds at
 * most 2,704 bytes and the projection would fail on it for good. No search can ask for it anyway: a token
 * search value has at most 1,024 characters (SEARCH_VALUE_LENGTH_LIMITS).
 */
const MAX_INDEXED_TOKEN_BYTES = 2000;

function fitsTokenIndex(token: { system: string | null; code: string }): boolean {
  const length = token.code.length + (token.system?.length ?? 0);
  // A character is at most 3 UTF-8 bytes in a JS string (4 for a pair of two): count bytes only when it matters.
  return (
    length * 3 <= MAX_INDEXED_TOKEN_BYTES ||
    utf8Length(token.code) + utf8Length(token.system ?? '') <= MAX_INDEXED_TOKEN_BYTES
  );
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** The longest string value indexed; longer text is cut (searches are prefix or substring). */
const MAX_INDEXED_STRING = 512;

const compiledByDefinition = new WeakMap<SearchParameterDefinition, Compiled | null>();

function compiled(definition: SearchParameterDefinition): Compiled | null {
  let fn = compiledByDefinition.get(definition);
  if (fn === undefined) {
    try {
      const evaluate = fhirpath.compile(definition.expression, r4Model) as unknown as Compiled;
      fn = memberPathEvaluator(definition.expression, evaluate) ?? evaluate;
    } catch {
      fn = null;
    }
    compiledByDefinition.set(definition, fn);
  }
  return fn;
}

/**
 * Evaluates every search parameter of the resource's type (the official FHIRPath expressions, through fhirpath.js)
 * and turns the results into index values. A parameter whose expression fails on this resource is skipped
 * rather than failing the version: the resource is stored either way.
 */
export function extractIndexValues(
  resource: { resourceType: string } & Record<string, unknown>,
  registry: SearchParameterRegistry,
): IndexValues {
  const values = emptyIndexValues();
  for (const definition of registry.parametersOf(resource.resourceType)) {
    if (COLUMN_SEARCH_PARAMETERS.has(definition.code)) continue;
    if (definition.type === 'composite') {
      try {
        values.composites.push(...compositeValues(definition, resource, addValue));
      } catch {
        // As below: a composite that fails on this resource is left out, the version is stored.
      }
      continue;
    }
    const evaluate = compiled(definition);
    if (!evaluate) continue;
    let results: unknown[];
    try {
      results = evaluate(resource);
    } catch {
      continue;
    }
    for (const result of results) addValue(values, definition, result);
  }
  return values;
}

function addValue(
  values: IndexValues,
  definition: SearchParameterDefinition,
  value: unknown,
  partOnly = false,
): void {
  const param = definition.code;
  switch (definition.type) {
    case 'token':
      for (const token of tokensOf(value)) if (fitsTokenIndex(token)) values.tokens.push({ param, ...token });
      if (partOnly) return;
      addText(values, `${param}:text`, tokenTexts(value));
      for (const token of identifierTypesOf(value))
        if (fitsTokenIndex(token)) values.tokens.push({ param: `${param}:of-type`, ...token });
      return;
    case 'uri':
      if (typeof value === 'string' && fitsTokenIndex({ system: null, code: value }))
        values.tokens.push({ param, system: null, code: value });
      return;
    case 'string':
      for (const text of stringsOf(value)) {
        const exact = text.slice(0, MAX_INDEXED_STRING);
        values.strings.push({ param, normalized: normalizeString(exact), exact });
      }
      return;
    case 'date':
      for (const range of dateRangesOf(value)) values.dates.push({ param, ...range });
      return;
    case 'number': {
      const text = decimalText(value);
      if (text !== undefined) values.numbers.push({ param, value: text, system: null, code: null });
      return;
    }
    case 'quantity': {
      const quantity = value as { value?: unknown; system?: string; code?: string; unit?: string };
      const text = quantity ? decimalText(quantity.value) : undefined;
      if (text !== undefined) {
        values.numbers.push({
          param,
          value: text,
          system: quantity.system ?? null,
          code: quantity.code ?? quantity.unit ?? null,
        });
      }
      return;
    }
    case 'reference':
      addReference(values, definition, value);
      return;
    case 'composite':
      return;
  }
}

function addReference(values: IndexValues, definition: SearchParameterDefinition, value: unknown): void {
  const param = definition.code;
  if (typeof value === 'string') {
    // canonical and uri targets (e.g. instantiatesCanonical) are matched as written.
    values.references.push({ param, targetType: null, targetId: null, raw: value });
    return;
  }
  if (!value || typeof value !== 'object') return;
  const reference = value as { reference?: unknown; identifier?: unknown; display?: unknown };
  if (typeof reference.display === 'string') addText(values, `${param}:text`, [reference.display]);
  if (reference.identifier) {
    for (const token of tokensOf(reference.identifier)) {
      if (fitsTokenIndex(token)) values.tokens.push({ param: `${param}:identifier`, ...token });
    }
  }
  if (typeof reference.reference !== 'string') return;
  const parsed = parseReference(reference.reference);
  if (parsed.kind === 'literal') {
    if (definition.targets.length > 0 && !definition.targets.includes(parsed.resourceType)) return;
    values.references.push({
      param,
      targetType: parsed.resourceType,
      targetId: parsed.id,
      raw: reference.reference,
    });
  } else if (parsed.kind === 'conditional') {
    if (definition.targets.length > 0 && !definition.targets.includes(parsed.resourceType)) return;
    values.references.push({
      param,
      targetType: parsed.resourceType,
      targetId: null,
      raw: reference.reference,
    });
  }
}

/** Coding, CodeableConcept, Identifier, ContactPoint and primitive codes as (system, code) pairs. */
export function tokensOf(value: unknown): { system: string | null; code: string }[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(tokensOf);
  if (typeof value === 'string') return [{ system: null, code: value }];
  if (typeof value === 'boolean' || typeof value === 'number') return [{ system: null, code: String(value) }];
  if (isFhirDecimal(value)) return [{ system: null, code: value.text }];
  if (typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.coding)) return tokensOf(record.coding);
  const code =
    typeof record.code === 'string' ? record.code : typeof record.value === 'string' ? record.value : null;
  if (code === null) return [];
  return [{ system: typeof record.system === 'string' ? record.system : null, code }];
}

/** :text searches these as strings: a CodeableConcept's text and its codings' display, a Coding's display. */
function tokenTexts(value: unknown): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const record = value as Record<string, unknown>;
  const texts: string[] = [];
  if (typeof record.text === 'string') texts.push(record.text);
  if (typeof record.display === 'string') texts.push(record.display);
  if (Array.isArray(record.coding)) texts.push(...record.coding.flatMap(tokenTexts));
  return texts;
}

function addText(values: IndexValues, param: string, texts: string[]): void {
  for (const text of new Set(texts)) {
    const exact = text.slice(0, MAX_INDEXED_STRING);
    values.strings.push({ param, normalized: normalizeString(exact), exact });
  }
}

/**
 * :of-type rows of an Identifier: system = the type coding's system, code = "<type code>|<value>", so
 * `identifier:of-type=<type system>|<type code>|<value>` is one index lookup.
 */
function identifierTypesOf(value: unknown): { system: string | null; code: string }[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const identifier = value as { value?: unknown; type?: { coding?: unknown } };
  if (typeof identifier.value !== 'string' || !Array.isArray(identifier.type?.coding)) return [];
  return (identifier.type.coding as Record<string, unknown>[]).flatMap((coding) =>
    typeof coding.code === 'string'
      ? [
          {
            system: typeof coding.system === 'string' ? coding.system : null,
            code: `${coding.code}|${identifier.value as string}`,
          },
        ]
      : [],
  );
}

/** HumanName and Address parts and plain strings, each indexed on its own. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (!value || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of [
    'text',
    'family',
    'given',
    'prefix',
    'suffix',
    'line',
    'city',
    'district',
    'state',
    'postalCode',
    'country',
  ]) {
    parts.push(...stringsOf(record[key]));
  }
  return parts;
}

function dateRangesOf(value: unknown): { low: string; high: string }[] {
  if (typeof value === 'string') {
    const range = parseFhirDateRange(value);
    return range ? [{ low: range.start.toISOString(), high: range.end.toISOString() }] : [];
  }
  if (!value || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  if ('start' in record || 'end' in record) {
    const start = typeof record.start === 'string' ? parseFhirDateRange(record.start) : undefined;
    const end = typeof record.end === 'string' ? parseFhirDateRange(record.end) : undefined;
    if (!start && !end) return [];
    return [
      {
        low: start ? start.start.toISOString() : '-infinity',
        high: end ? end.end.toISOString() : 'infinity',
      },
    ];
  }
  if (Array.isArray(record.event)) return record.event.flatMap(dateRangesOf);
  return [];
}

/** Case- and accent-insensitive form used by string search (FHIR's default string matching). */
export function normalizeString(value: string): string {
  return value
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}
