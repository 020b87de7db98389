import { parseReference } from '../references';
import { parseFhirDateRange } from '../fhir-instant';
import { FHIR_ID_PATTERN } from '../resource-types';
import { searchValueTooLong } from '../input-limits';
import type { DateValue, NumberValue, Prefix, ReferenceValue, TokenValue } from './search-filter';
import { SearchParameterError } from './search-filter';

/** Parsing of one value of a search parameter (FHIR search syntax), each error naming the parameter. */

const PREFIXES = new Set<string>(['eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb', 'ap']);

export function splitModifier(name: string): [string, string | undefined] {
  const colon = name.indexOf(':');
  return colon < 0 ? [name, undefined] : [name.slice(0, colon), name.slice(colon + 1)];
}

/**
 * The alternatives of one occurrence; none at all ("", ",") is a client error, not an empty OR, and so is one
 * longer than its parameter type's limit (input hygiene's, input-limits.ts).
 */
export function requiredValues(name: string, occurrence: string, type: string): string[] {
  const values = splitValues(occurrence);
  if (values.length === 0) throw new SearchParameterError(name, `${name}: a value is required`);
  for (const value of values) {
    const tooLong = searchValueTooLong(name, type, value);
    if (tooLong) throw new SearchParameterError(name, tooLong);
  }
  return values;
}

/** Comma separates alternatives; "\," is a literal comma. */
export function splitValues(value: string): string[] {
  return splitOn(value, ',', true).filter((v) => v !== '');
}

/**
 * Splits on unescaped `separator`. With `unescape`, every "\x" becomes x; without it only "\<separator>" does,
 * so that a composite's `$` parts can be split again by comma rules.
 */
export function splitOn(value: string, separator: string, unescape = false): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && i + 1 < value.length) {
      const next = value[++i];
      current += unescape || next === separator ? next : `\\${next}`;
    } else if (value[i] === separator) {
      values.push(current);
      current = '';
    } else {
      current += value[i];
    }
  }
  values.push(current);
  return values;
}

export function parseTokenValue(value: string): TokenValue {
  const bar = value.indexOf('|');
  if (bar < 0) return { code: value };
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  return { system: system === '' ? null : system, ...(code === '' ? {} : { code }) };
}

export function splitPrefix(value: string): [Prefix, string] {
  const prefix = value.slice(0, 2);
  if (PREFIXES.has(prefix) && !/^\d/.test(prefix)) return [prefix as Prefix, value.slice(2)];
  return ['eq', value];
}

export function parseDateValue(name: string, raw: string): DateValue {
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

export function parseNumberValue(name: string, raw: string, quantity: boolean): NumberValue {
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

export function parseReferenceValue(name: string, value: string, type: string | undefined): ReferenceValue {
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

export function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
