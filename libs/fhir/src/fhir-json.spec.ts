import fc from 'fast-check';
import { canonicalJson } from './canonical-json';
import {
  cloneFhirJson,
  decimalText,
  FhirDecimal,
  isFhirDecimal,
  losesPrecision,
  parseFhirJson,
  stringifyFhirJson,
} from './fhir-json';

/** The parsed value with every FhirDecimal as the number JSON.parse gives: what JSON.parse returns. */
function asNumbers(value: unknown): unknown {
  if (value instanceof FhirDecimal) return Number(value.text);
  if (Array.isArray(value)) return value.map(asNumbers);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asNumbers(v)]));
  }
  return value;
}

function decimalsIn(value: unknown): string[] {
  if (value instanceof FhirDecimal) return [value.text];
  if (value && typeof value === 'object') return Object.values(value).flatMap(decimalsIn);
  return [];
}

/** Any JSON number as a writer may write it: sign, leading digits, fraction with any trailing zeros, exponent. */
const numberText = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,24}$/)),
    fc.option(fc.stringMatching(/^[0-9]{1,20}$/), { nil: undefined }),
    fc.option(fc.stringMatching(/^[eE][+-]?[0-9]{1,3}$/), { nil: undefined }),
  )
  .map(([minus, int, frac, exp]) => `${minus ? '-' : ''}${int}${frac ? `.${frac}` : ''}${exp ?? ''}`);

/** Integer-like names come first in any JS object (JSON.parse's too); FHIR has none. */
const memberName = fc.string().filter((name) => !/^(0|[1-9]\d*)$/.test(name));

/** Minified JSON text whose numbers are written in every way JSON allows. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    fc.string({ unit: 'binary' }).map((s) => JSON.stringify(s)),
    fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('value'), { maxLength: 5 }).map((items) => `[${items.join(',')}]`),
    fc
      .uniqueArray(fc.tuple(memberName, tie('value')), { maxLength: 5, selector: ([key]) => key })
      .map((members) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;

describe('parseFhirJson / stringifyFhirJson', () => {
  it('keeps decimals JS cannot write back as FhirDecimal and writes them back exactly', () => {
    const text =
      '{"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"mmol/L"},' +
      '"component":[{"valueDecimal":100.0},{"valueDecimal":1E-22},{"valueDecimal":-1.000000000000000000E+245}],' +
      '"x":[1.5,0.50,-0,12345678901234567890,66.899999999999991,0.0000001,42,0.000001,0]}';
    const parsed = parseFhirJson(text) as {
      valueQuantity: { value: unknown };
      x: unknown[];
    };
    expect(parsed.valueQuantity.value).toEqual(new FhirDecimal('1.50'));
    expect(decimalsIn(parsed)).toEqual([
      '1.50',
      '100.0',
      '1E-22',
      '-1.000000000000000000E+245',
      '0.50',
      '-0',
      '12345678901234567890',
      '66.899999999999991',
      '0.0000001',
    ]);
    // Numbers JS writes as they were written stay plain numbers.
    expect(parsed.x.filter((v) => typeof v === 'number')).toEqual([1.5, 42, 0.000001, 0]);
    expect(stringifyFhirJson(parsed)).toBe(text);
    expect(asNumbers(parsed)).toEqual(JSON.parse(text));
  });

  it('parses documents without such numbers exactly as JSON.parse does', () => {
    const valid = '{"a":[1,2.5,-3,7],"s":"ratio: 1.50 and 2.16.840.1.113883.3.1","n":410.20000000000005}';
    expect(parseFhirJson(valid)).toEqual(JSON.parse(valid));
    expect(decimalsIn(parseFhirJson(valid))).toEqual([]);
    // A string that only looks like a decimal stays a string, even when it sends the document the careful way.
    const tricky = '{"s":"v: 1.50, [2.0","t":[1.0],"u":"\\"a\\"\\u00e9\\n"}';
    expect(asNumbers(parseFhirJson(tricky))).toEqual(JSON.parse(tricky));
    expect(decimalsIn(parseFhirJson(tricky))).toEqual(['1.0']);
  });

  it('round-trips every way of writing numbers, and agrees with JSON.parse on their values', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const parsed = parseFhirJson(text);
        expect(stringifyFhirJson(parsed)).toBe(text);
        expect(asNumbers(parsed)).toEqual(JSON.parse(text));
        for (const decimal of decimalsIn(parsed)) expect(losesPrecision(decimal)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly what JSON.parse accepts, whitespace and escapes included', () => {
    const outcome = (parse: (text: string) => unknown, text: string) => {
      try {
        return { value: asNumbers(parse(text)) };
      } catch (error) {
        return { error: (error as Error).message };
      }
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.string({ unit: 'binary' }),
          fc.string({ unit: 'binary' }).map((t) => `"${t}"`),
          jsonText.map((t) => t.replace(/,/g, ' ,\n\t')),
        ),
        (inner) => {
          // The leading 1.50 sends every document through the careful parser.
          const text = `[1.50,${inner}]`;
          expect(outcome(parseFhirJson, text)).toEqual(outcome(JSON.parse, text));
        },
      ),
      { numRuns: 2000 },
    );
    for (const bad of [
      '[1.50,01]',
      '[1.50,1.]',
      '[1.50,"a\tb"]',
      '[1.50,]',
      '{"a":1.50,}',
      '[1.50',
      '[1.50]x',
      '{"a":1.50,1.50:2}',
      '[1.50,01.50]',
      '[1.50,-01]',
    ]) {
      expect(() => parseFhirJson(bad)).toThrow(SyntaxError);
    }
  });

  it('keeps a "__proto__" key as a member, as JSON.parse does', () => {
    const parsed = parseFhirJson('{"__proto__":{"polluted":1.50},"a":1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'a']);
    expect(stringifyFhirJson(parsed)).toBe('{"__proto__":{"polluted":1.50},"a":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('parses documents too deep for the careful parser natively instead of failing', () => {
    const deep = '['.repeat(20_000) + '1.50' + ']'.repeat(20_000);
    expect(() => parseFhirJson(deep)).not.toThrow();
  });

  it('writes a string of the document that starts like a marked decimal as the string it is', () => {
    const value = { s: '\ue0001.50', d: new FhirDecimal('2.0'), k: { '\ue0003': 1, t: '\ue000' } };
    expect(stringifyFhirJson(value)).toBe('{"s":"\ue0001.50","d":2.0,"k":{"\ue0003":1,"t":"\ue000"}}');
    expect(stringifyFhirJson([new FhirDecimal('1.50'), 'x\ue0001.50'])).toBe('[1.50,"x\ue0001.50"]');
  });

  it('writes what JSON.stringify writes for everything else', () => {
    const value = { a: undefined, b: [undefined, NaN, () => 1], c: new Date(0), d: new FhirDecimal('2.0') };
    expect(stringifyFhirJson(value)).toBe(JSON.stringify({ ...value, d: 0 }).replace('"d":0', '"d":2.0'));
    expect(stringifyFhirJson({ a: 1, s: 'x' })).toBe('{"a":1,"s":"x"}');
  });
});

describe('FhirDecimal elsewhere', () => {
  it('behaves as its number for arithmetic and native JSON.stringify (the old, lossy output)', () => {
    const decimal = new FhirDecimal('1.50');
    expect(+decimal + 1).toBe(2.5);
    expect(JSON.stringify({ v: decimal })).toBe('{"v":1.5}');
    expect(`${decimal}`).toBe('1.50');
    expect(isFhirDecimal(decimal)).toBe(true);
    expect(decimalText(decimal)).toBe('1.50');
    expect(decimalText(1.5)).toBe('1.5');
    expect(decimalText('1.5')).toBeUndefined();
  });

  it('makes 1.5 and 1.50 different canonical content, and survives cloning', () => {
    const a = parseFhirJson('{"b":1.5,"a":1}');
    const b = parseFhirJson('{"a":1,"b":1.50}');
    expect(canonicalJson(a)).toBe('{"a":1,"b":1.5}');
    expect(canonicalJson(b)).toBe('{"a":1,"b":1.50}');
    const clone = cloneFhirJson(b) as { b: unknown };
    expect(clone).not.toBe(b);
    expect(clone.b).toBeInstanceOf(FhirDecimal);
    expect(stringifyFhirJson(clone)).toBe('{"a":1,"b":1.50}');
  });
});
