/**
 * FHIR JSON without losing a decimal's written precision: FHIR says `1.50` and `1.5` are different statements
 * (the precision is part of the value) and servers must keep it, but JSON.parse turns both into the double 1.5.
 *
 * One mechanism for every path a resource travels (file and Kafka decoding, normalisation, the content hash,
 * the event log's and the read model's jsonb, HTTP responses):
 * - parseFhirJson keeps each number whose text String(Number(text)) does not reproduce (trailing zeros `1.50`,
 *   exponents `1E-22`, more than 15 significant digits, `-0`) as a FhirDecimal holding its text; every other
 *   number stays a plain JS number. Most documents have none: a scan of the text finds that out and the
 *   document goes to native JSON.parse; only the others go through the small parser below.
 * - stringifyFhirJson writes a FhirDecimal as its text (through native JSON.stringify, see there), canonicalJson
 *   (content hash) too.
 * - Anything else that meets a FhirDecimal still works: it converts to its number (valueOf) and native
 *   JSON.stringify writes that number, i.e. the old lossy behaviour rather than a broken document.
 */
export class FhirDecimal {
  constructor(readonly text: string) {}

  valueOf(): number {
    return Number(this.text);
  }

  toString(): string {
    return this.text;
  }

  /** Native JSON.stringify writes the number; within stringifyFhirJson, the marked text (see there). */
  toJSON(): number | string {
    if (marking === 0) return Number(this.text);
    marked++;
    return MARKER + this.text;
  }
}

export function isFhirDecimal(value: unknown): value is FhirDecimal {
  return value instanceof FhirDecimal;
}

/** The written text of a JSON number (a FhirDecimal's text, a plain number's String), or undefined. */
export function decimalText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  return value instanceof FhirDecimal ? value.text : undefined;
}

/**
 * A number in value position (first, or after `:`, `,` or `[`) that may not survive JSON.parse: a trailing
 * fraction zero, an exponent, `-0`, six zeros after `0.` (JS writes 1e-7) or 16 and more digits. Group 1 is the
 * whole number. It also meets numbers inside strings ("ratio: 1.50"): those only send the document to the
 * careful parser, which finds no decimal to keep.
 */
const SUSPECT_NUMBER =
  /(?:^|[:,[])[ \t\n\r]*(?=-0(?![.\deE])|-?\d+(?:\.\d*0(?!\d)|(?:\.\d+)?[eE])|-?0\.000000|-?[\d.]{16})(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/** True when JS cannot write the number back as it was written. */
export function losesPrecision(text: string): boolean {
  return String(Number(text)) !== text;
}

/** JSON.parse, except that numbers JS cannot write back as written come back as FhirDecimal. */
export function parseFhirJson(text: string): unknown {
  if (!mayLosePrecision(text)) return JSON.parse(text);
  try {
    return new LosslessParser(text).parseDocument();
  } catch {
    // Invalid JSON gets JSON.parse's own error; a document too deep for the recursive parser (thousands of
    // levels, rejected as too deep downstream anyway) is parsed natively.
    return JSON.parse(text);
  }
}

function mayLosePrecision(text: string): boolean {
  SUSPECT_NUMBER.lastIndex = 0;
  for (let match = SUSPECT_NUMBER.exec(text); match; match = SUSPECT_NUMBER.exec(text)) {
    if (losesPrecision(match[1])) return true;
  }
  return false;
}

let marking = 0;
let marked = 0;
/** A private-use character: JSON.stringify writes it raw, and FHIR text has no use for it. */
const MARKER = '\ue000';
const MARKED_DECIMAL = /"\ue000([^"]*)"/g;

/**
 * JSON.stringify with each FhirDecimal written as its text. Native JSON.stringify does the work, writing each
 * FhirDecimal as a string of MARKER and its text; those strings then lose their quotes and marker. A string of
 * the document's own that starts with MARKER makes the count of replacements differ from the count of
 * decimals: that document is written by the small writer below instead, which never guesses.
 */
export function stringifyFhirJson(value: unknown): string {
  const before = marked;
  marking++;
  let out: string;
  try {
    out = JSON.stringify(value);
  } finally {
    marking--;
  }
  const decimals = marked - before;
  if (decimals === 0) return out;
  let replaced = 0;
  const written = out.replace(MARKED_DECIMAL, (_, text: string) => {
    replaced++;
    return text;
  });
  return replaced === decimals ? written : (writeValue(value) ?? 'undefined');
}

/** JSON.stringify's rules (undefined members dropped, null in arrays, toJSON honoured), decimals as text. */
function writeValue(input: unknown): string | undefined {
  if (input instanceof FhirDecimal) return input.text;
  let value = input;
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(value); // throws, as JSON.stringify does
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (writeValue(value[i]) ?? 'null');
        return out + ']';
      }
      const record = value as Record<string, unknown>;
      let out = '{';
      let first = true;
      for (const key of Object.keys(record)) {
        const member = writeValue(record[key]);
        if (member === undefined) continue;
        out += (first ? '' : ',') + JSON.stringify(key) + ':' + member;
        first = false;
      }
      return out + '}';
    }
    default:
      return undefined; // undefined, functions, symbols
  }
}

/** A deep copy of parsed JSON that keeps FhirDecimal (structuredClone would turn them into plain objects). */
export function cloneFhirJson<T>(value: T): T {
  if (value === null || typeof value !== 'object' || value instanceof FhirDecimal) return value;
  if (Array.isArray(value)) return value.map(cloneFhirJson) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value))
    defineMember(copy, key, cloneFhirJson((value as Record<string, unknown>)[key]));
  return copy as T;
}

/** Like JSON.parse, a "__proto__" key is an own member, never the object's prototype. */
function defineMember(object: Record<string, unknown>, key: string, member: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, {
      value: member,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = member;
  }
}

const NUMBER_AT = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** What a string may not hold unescaped or must have decoded: a backslash or a control character. */
const NOT_PLAIN = /[\\\u0000-\u001f]/g;

/**
 * A strict recursive-descent JSON parser for the few documents with decimals JS cannot keep. Strings without
 * escapes are sliced from the text; strings with escapes and every syntax question it is unsure of go to
 * JSON.parse, so it accepts exactly what JSON.parse accepts (fhir-json.spec.ts checks it against JSON.parse).
 */
class LosslessParser {
  private at = 0;
  /** Where the next backslash or control character is, once looked for: a string closing before it is plain. */
  private notPlain = -1;

  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    const value = this.value();
    this.skipWhitespace();
    if (this.at !== this.text.length) throw new SyntaxError(`unexpected text at ${this.at}`);
    return value;
  }

  private value(): unknown {
    this.skipWhitespace();
    const c = this.text.charCodeAt(this.at);
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.text.startsWith('true', this.at)) return this.keyword(4, true);
    if (this.text.startsWith('false', this.at)) return this.keyword(5, false);
    if (this.text.startsWith('null', this.at)) return this.keyword(4, null);
    throw new SyntaxError(`unexpected character at ${this.at}`);
  }

  private keyword<T>(length: number, value: T): T {
    this.at += length;
    return value;
  }

  private object(): Record<string, unknown> {
    this.at++;
    const object: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text.charCodeAt(this.at) === 0x7d) {
      this.at++;
      return object;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.at) !== 0x22) throw new SyntaxError(`expected a key at ${this.at}`);
      const key = this.string();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.at) !== 0x3a) throw new SyntaxError(`expected ':' at ${this.at}`);
      this.at++;
      defineMember(object, key, this.value());
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.at++);
      if (next === 0x7d) return object;
      if (next !== 0x2c) throw new SyntaxError(`expected ',' or '}' at ${this.at - 1}`);
    }
  }

  private array(): unknown[] {
    this.at++;
    const array: unknown[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.at) === 0x5d) {
      this.at++;
      return array;
    }
    for (;;) {
      array.push(this.value());
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.at++);
      if (next === 0x5d) return array;
      if (next !== 0x2c) throw new SyntaxError(`expected ',' or ']' at ${this.at - 1}`);
    }
  }

  private string(): string {
    const start = this.at;
    const close = this.text.indexOf('"', start + 1);
    if (close < 0) throw new SyntaxError(`unterminated string at ${start}`);
    if (this.notPlain <= start) {
      NOT_PLAIN.lastIndex = start + 1;
      this.notPlain = NOT_PLAIN.exec(this.text)?.index ?? this.text.length;
    }
    if (close < this.notPlain) {
      this.at = close + 1;
      return this.text.slice(start + 1, close);
    }
    // Escapes (or a control character, which JSON.parse rejects): find the closing quote, let JSON.parse decode.
    let end = this.notPlain;
    for (;;) {
      const c = this.text.charCodeAt(end);
      if (Number.isNaN(c)) throw new SyntaxError(`unterminated string at ${start}`);
      if (c === 0x5c) end += 2;
      else if (c === 0x22) break;
      else end++;
    }
    this.at = end + 1;
    return JSON.parse(this.text.slice(start, end + 1)) as string;
  }

  private number(): number | FhirDecimal {
    NUMBER_AT.lastIndex = this.at;
    const match = NUMBER_AT.exec(this.text);
    if (!match) throw new SyntaxError(`bad number at ${this.at}`);
    this.at += match[0].length;
    const text = match[0];
    return losesPrecision(text) ? new FhirDecimal(text) : Number(text);
  }

  private skipWhitespace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.at++;
    }
  }
}
