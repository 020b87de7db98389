/**
 * Plain JSON walking over source FHIR resources, written for the search tests from the search contract alone.
 * Deliberately shares no code with the server's search implementation, so the two can be compared.
 */

export type Json = Record<string, unknown>;
export type Resource = Json & { resourceType: string; id: string };

/** Every value reached by a dot-separated element path, flattening arrays at each step (like FHIRPath). */
export function values(node: unknown, path: string): unknown[] {
  let current: unknown[] = [node];
  for (const step of path.split('.')) {
    const next: unknown[] = [];
    for (const item of current) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
      const value = (item as Json)[step];
      if (Array.isArray(value)) next.push(...value);
      else if (value !== undefined && value !== null) next.push(value);
    }
    current = next;
  }
  return current;
}

export function strings(node: unknown, path: string): string[] {
  return values(node, path).filter((v): v is string => typeof v === 'string');
}

// ---------------------------------------------------------------------------------------------------------------
// token

export interface TokenValue {
  system?: string;
  code: string;
}

/** Token values of one element: Coding, CodeableConcept, Identifier, ContactPoint or a primitive code/string. */
export function tokensOf(value: unknown): TokenValue[] {
  if (typeof value === 'string') return [{ code: value }];
  if (typeof value === 'boolean') return [{ code: String(value) }];
  if (value === null || typeof value !== 'object') return [];
  const element = value as Json;
  if (Array.isArray(element.coding)) return element.coding.flatMap(tokensOf);
  const system = typeof element.system === 'string' ? element.system : undefined;
  if (typeof element.code === 'string') return [{ system, code: element.code }];
  if (typeof element.value === 'string') return [{ system, code: element.value }];
  return [];
}

export function tokens(node: unknown, path: string): TokenValue[] {
  return values(node, path).flatMap(tokensOf);
}

/** `code`, `system|code`, `|code` or `system|` against one token value. */
export function tokenMatches(search: string, token: TokenValue): boolean {
  const bar = search.indexOf('|');
  if (bar < 0) return token.code === search;
  const system = search.slice(0, bar);
  const code = search.slice(bar + 1);
  if (system === '') return token.system === undefined && token.code === code;
  if (code === '') return token.system === system;
  return token.system === system && token.code === code;
}

export function hasToken(node: unknown, path: string, search: string): boolean {
  return tokens(node, path).some((t) => tokenMatches(search, t));
}

// ---------------------------------------------------------------------------------------------------------------
// string

/** Case- and accent-insensitive form: NFD, combining marks removed, lower case. */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The separately indexed string parts of a HumanName, Address or plain string. */
export function stringParts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  const element = value as Json;
  return [
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
  ].flatMap((key) => strings(element, key));
}

export type StringModifier = '' | 'exact' | 'contains';

export function stringMatches(part: string, search: string, modifier: StringModifier): boolean {
  if (modifier === 'exact') return part === search;
  if (modifier === 'contains') return fold(part).includes(fold(search));
  return fold(part).startsWith(fold(search));
}

export function hasString(
  node: unknown,
  path: string,
  search: string,
  modifier: StringModifier = '',
): boolean {
  return values(node, path)
    .flatMap(stringParts)
    .some((part) => stringMatches(part, search, modifier));
}

// ---------------------------------------------------------------------------------------------------------------
// date

/** An inclusive range of epoch milliseconds. */
export interface Range {
  lo: number;
  hi: number;
}

const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The range a FHIR date/dateTime/instant covers, in UTC when it has no zone: a year, month or day covers all of it,
 * a time covers its minute, second or (with a fraction) its millisecond.
 */
export function dateRange(text: string): Range | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const year = Number(y);
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (month !== undefined && day !== undefined) {
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (day < 1 || day > daysInMonth) return undefined;
  }
  if (month === undefined) return { lo: Date.UTC(year, 0, 1), hi: Date.UTC(year + 1, 0, 1) - 1 };
  if (day === undefined) return { lo: Date.UTC(year, month - 1, 1), hi: Date.UTC(year, month, 1) - 1 };
  if (h === undefined)
    return { lo: Date.UTC(year, month - 1, day), hi: Date.UTC(year, month - 1, day + 1) - 1 };
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const milliseconds = fraction === undefined ? 0 : Number(fraction.padEnd(3, '0').slice(0, 3));
  const lo =
    Date.UTC(year, month - 1, day, Number(h), Number(mi), s === undefined ? 0 : Number(s), milliseconds) -
    offsetMinutes * 60_000;
  const width = s === undefined ? 60_000 : fraction === undefined ? 1000 : 1;
  return { lo, hi: lo + width - 1 };
}

/** Range of a date-like element: a date/dateTime/instant string or a Period (open ends are infinite). */
export function elementRange(value: unknown): Range | undefined {
  if (typeof value === 'string') return dateRange(value);
  if (value === null || typeof value !== 'object') return undefined;
  const period = value as Json;
  if (typeof period.start !== 'string' && typeof period.end !== 'string') return undefined;
  const start = typeof period.start === 'string' ? dateRange(period.start) : undefined;
  const end = typeof period.end === 'string' ? dateRange(period.end) : undefined;
  return { lo: start ? start.lo : -Infinity, hi: end ? end.hi : Infinity };
}

export function dateRanges(node: unknown, path: string): Range[] {
  return values(node, path)
    .map(elementRange)
    .filter((r): r is Range => r !== undefined);
}

/** `[prefix]date` against one value range, with the comparisons the contract defines. */
export function dateMatches(search: string, value: Range): boolean {
  const prefixed = /^(eq|ne|lt|gt|le|ge|sa|eb)(.*)$/.exec(search);
  const prefix = prefixed ? prefixed[1] : 'eq';
  const target = dateRange(prefixed ? prefixed[2] : search);
  if (!target) throw new Error(`test bug: bad date ${search}`);
  const eq = value.lo >= target.lo && value.hi <= target.hi;
  switch (prefix) {
    case 'eq':
      return eq;
    case 'ne':
      return !eq;
    case 'lt':
      return value.lo < target.lo;
    case 'gt':
      return value.hi > target.hi;
    case 'le':
      return value.lo <= target.hi;
    case 'ge':
      return value.hi >= target.lo;
    case 'sa':
      return value.lo > target.hi;
    default:
      return value.hi < target.lo;
  }
}

export function hasDate(node: unknown, path: string, search: string): boolean {
  return dateRanges(node, path).some((r) => dateMatches(search, r));
}

// ---------------------------------------------------------------------------------------------------------------
// quantity

/** `[prefix]number[|system|code]` against a Quantity; eq uses the implicit precision of the search number. */
export function quantityMatches(search: string, quantity: unknown): boolean {
  if (quantity === null || typeof quantity !== 'object') return false;
  const q = quantity as Json;
  if (typeof q.value !== 'number') return false;
  const [numberPart, system, code] = search.split('|');
  if (system && q.system !== system) return false;
  if (code && q.code !== code) return false;
  const prefixed = /^(eq|ne|lt|gt|le|ge)?(-?\d+(?:\.(\d+))?)$/.exec(numberPart);
  if (!prefixed) throw new Error(`test bug: bad quantity ${search}`);
  const target = Number(prefixed[2]);
  const half = 0.5 * 10 ** -(prefixed[3]?.length ?? 0);
  const inPrecision = q.value >= target - half && q.value < target + half;
  switch (prefixed[1] ?? 'eq') {
    case 'eq':
      return inPrecision;
    case 'ne':
      return !inPrecision;
    case 'lt':
      return q.value < target;
    case 'gt':
      return q.value > target;
    case 'le':
      return q.value <= target;
    default:
      return q.value >= target;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// reference

/** Reference strings (as written by the source) reached by a path to Reference elements. */
export function references(node: unknown, path: string): string[] {
  return strings(node, `${path}.reference`);
}

/** Every Reference.reference string anywhere in a resource (contained resources included). */
export function allReferences(node: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value as Json)) {
        if (key === 'reference' && typeof child === 'string') out.push(child);
        else walk(child);
      }
    }
  };
  walk(node);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// :text

/** What :text reads of a token element: a CodeableConcept's text, its codings' display, a Coding's display. */
export function tokenTexts(node: unknown, path: string): string[] {
  return values(node, path).flatMap((element) => [
    ...strings(element, 'text'),
    ...strings(element, 'display'),
    ...strings(element, 'coding.display'),
  ]);
}

/** :text on a token: some text or display starts with the search, case- and accent-insensitively. */
export function hasTokenText(node: unknown, path: string, search: string): boolean {
  return tokenTexts(node, path).some((text) => fold(text).startsWith(fold(search)));
}

/** :text on a reference: its display starts with the search, case- and accent-insensitively. */
export function hasReferenceText(node: unknown, path: string, search: string): boolean {
  return strings(node, `${path}.display`).some((text) => fold(text).startsWith(fold(search)));
}

/** :of-type on identifiers: `<type system>|<type code>|<value>` against Identifier.type.coding and value. */
export function hasIdentifierOfType(node: unknown, path: string, search: string): boolean {
  const [system, code, value] = search.split('|');
  return values(node, path).some(
    (identifier) =>
      strings(identifier, 'value').includes(value) &&
      values(identifier, 'type.coding').some(
        (coding) => strings(coding, 'system').includes(system) && strings(coding, 'code').includes(code),
      ),
  );
}
