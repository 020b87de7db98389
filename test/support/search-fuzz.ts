import fc from 'fast-check';
import { R4_RESOURCE_TYPES, r4SearchParameters, SearchParameterDefinition } from '@fa/fhir';

/** Types the fixture holds (searches find things) and a few it does not. */
const TYPES_WITH_DATA = [
  'Patient',
  'Observation',
  'Encounter',
  'Immunization',
  'Claim',
  'ExplanationOfBenefit',
  'DiagnosticReport',
  'DocumentReference',
  'Practitioner',
  'Organization',
  'Location',
  'Provenance',
];

const MODIFIERS: Record<string, string[]> = {
  string: ['', '', ':exact', ':contains', ':missing'],
  token: ['', '', ':not', ':missing', ':text', ':of-type', ':in', ':below'],
  reference: ['', '', ':Patient', ':identifier', ':missing', ':Practitioner', ':text', ':mdm'],
  composite: ['', '', '', ':missing', ':exact'],
  date: ['', '', ':missing'],
  number: ['', '', ':missing'],
  quantity: ['', '', ':missing'],
  uri: ['', '', ':below', ':above', ':missing'],
};

const PREFIXES = ['', '', 'eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb', 'ap', 'xx'];

/** Values that broke or could break servers: injection, odd Unicode, search syntax characters, NUL. */
const HOSTILE = [
  "' OR 1=1 --",
  '"; DROP TABLE events; --',
  '\u0000',
  'a\u0000b',
  '%',
  '\\',
  '\\,',
  '|',
  '||',
  '$',
  ',',
  ',,',
  ':',
  '*',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  'Ångström',
  '🙂',
  '\u202e',
  '\ufeff',
  'NaN',
  'Infinity',
  '-0',
  '1e999',
  '9'.repeat(400),
  'null',
  'undefined',
  '[object Object]',
  '{"a":1}',
  '$.**',
  '(',
  ')',
  "'",
  '\t',
  '\n',
  '\u0007',
];

/** Percent-encoded bytes that are not UTF-8 (spliced into a value undecoded). */
const INVALID_UTF8 = ['%C3%28', '%C0%AF', '%ED%A0%80', '%FF', '%E2%82', '%F4%90%80%80'];

const dates = fc.oneof(
  fc.constantFrom('2020', '2020-03', '2020-03-04', '2020-03-04T05:06:07Z', '2020-03-04T05:06:07.123+02:00'),
  fc.constantFrom('2020-13-01', '2020-02-30', '0000', '99999', '2020-03-04T25:00', 'yesterday', ''),
  fc
    .date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
);
const numbers = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer().map(String),
  fc.constantFrom('5.4', '0', '-1', '1e3', '.5', '5.', '1,2', 'abc'),
);
const codes = fc.oneof(
  fc.constantFrom('male', 'female', 'final', '8302-2', '2339-0', 'true', 'false'),
  fc.stringMatching(/^[A-Za-z0-9.\-]{1,12}$/),
);
const systems = fc.constantFrom('http://loinc.org', 'http://snomed.info/sct', 'urn:oid:1.2.3', '', 'x');

function valueFor(definition: SearchParameterDefinition | undefined): fc.Arbitrary<string> {
  const text = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('a', 'sm', 'ann', 'zz'));
  switch (definition?.type) {
    case 'date':
      return fc.tuple(fc.constantFrom(...PREFIXES), dates).map(([p, d]) => p + d);
    case 'number':
      return fc.tuple(fc.constantFrom(...PREFIXES), numbers).map(([p, n]) => p + n);
    case 'quantity':
      return fc
        .tuple(fc.constantFrom(...PREFIXES), numbers, systems, codes)
        .map(([p, n, s, c]) => `${p}${n}|${s}|${c}`);
    case 'token':
      return fc.oneof(
        codes,
        fc.tuple(systems, codes).map(([s, c]) => `${s}|${c}`),
        codes.map((c) => `|${c}`),
        systems.map((s) => `${s}|`),
      );
    case 'reference':
      return fc.oneof(
        fc
          .tuple(fc.constantFrom(...definition.targets, 'Patient', 'Bogus'), codes)
          .map(([t, id]) => `${t}/${id}`),
        codes,
        fc.constantFrom('http://example.org/fhir/Patient/1', 'Patient?identifier=x|y', 'urn:uuid:1234'),
      );
    case 'composite': {
      const parts = (definition.components ?? []).map((c) => valueFor(c.definition));
      return fc.oneof(
        fc.tuple(...parts).map((values) => values.join('$')),
        fc.tuple(...parts).map((values) => values.slice(1).join('$')),
        fc.tuple(...parts).map((values) => `${values.join('$')}$extra`),
        fc.tuple(...parts).map((values) => values.join('\\$')),
      );
    }
    default:
      return text;
  }
}

interface Parameter {
  name: string;
  value: string;
  /** Splice invalid UTF-8 bytes into the encoded value. */
  badBytes?: string;
}

export interface FuzzRequest {
  resourceType: string;
  method: 'GET' | 'POST';
  parameters: Parameter[];
}

const CONTROL_PARAMETERS: fc.Arbitrary<Parameter> = fc.oneof(
  fc.record({
    name: fc.constant('_count'),
    value: fc.oneof(fc.nat(2000).map(String), fc.constantFrom('-1', 'x', '1e3', '')),
  }),
  fc.record({
    name: fc.constant('_sort'),
    value: fc.constantFrom('-date', 'name', '_id', '-_lastUpdated', 'bogus', ',', '-'),
  }),
  fc.record({ name: fc.constant('_total'), value: fc.constantFrom('accurate', 'none', 'estimate', 'x') }),
  fc.record({ name: fc.constant('_summary'), value: fc.constantFrom('count', 'false', 'true', 'text') }),
  fc.record({ name: fc.constant('_elements'), value: fc.constantFrom('id', 'name,gender', 'a.b', '') }),
  fc.record({
    name: fc.constantFrom('_include', '_revinclude', '_include:iterate'),
    value: fc.constantFrom(
      'Observation:subject',
      'Patient:general-practitioner',
      '*',
      'Encounter:bogus',
      'x',
      'Observation:subject:Patient',
    ),
  }),
  fc.record({
    name: fc.constantFrom('_asOf', '_lastUpdated'),
    value: fc.tuple(fc.constantFrom(...PREFIXES), dates).map(([p, d]) => p + d),
  }),
  fc.record({ name: fc.constant('_id'), value: codes }),
  fc.record({
    name: fc.constantFrom(
      'bogus',
      'name.family',
      'subject.name',
      'subject:Patient.birthdate',
      'patient.identifier',
      'encounter.subject.family',
      'subject:Patient.organization.partof.partof.name',
      'subject.colour',
      '_has:Observation:subject:code',
      '_has:Observation:patient:_has:Encounter:subject:date',
      '_has:Observation',
      '_has:Observation:code:code',
      '_has:Bogus:subject:code',
      'subject._has:Observation:subject:code-value-quantity',
      '_filter',
    ),
    value: fc.string({ maxLength: 10 }),
  }),
);

/** Search requests from the SearchParameter registry: valid and invalid values, modifiers, prefixes, mixes. */
export function searchRequests(): fc.Arbitrary<FuzzRequest> {
  const registry = r4SearchParameters();
  return fc
    .oneof(
      { weight: 9, arbitrary: fc.constantFrom(...TYPES_WITH_DATA) },
      { weight: 1, arbitrary: fc.constantFrom(...R4_RESOURCE_TYPES) },
    )
    .chain((resourceType) => {
      const definitions = registry.parametersOf(resourceType);
      const parameter: fc.Arbitrary<Parameter> = fc.constantFrom(...definitions).chain((definition) =>
        fc.constantFrom(...(MODIFIERS[definition.type] ?? [''])).chain((modifier) =>
          fc.record({
            name: fc.constant(definition.code + modifier),
            value:
              modifier === ':missing'
                ? fc.constantFrom('true', 'false', 'maybe')
                : fc.oneof(
                    { weight: 12, arbitrary: valueFor(definition) },
                    {
                      weight: 3,
                      arbitrary: fc
                        .array(valueFor(definition), { minLength: 2, maxLength: 3 })
                        .map((v) => v.join(',')),
                    },
                    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE) },
                    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
                  ),
            badBytes: fc.oneof(
              { weight: 20, arbitrary: fc.constant(undefined) },
              { weight: 1, arbitrary: fc.constantFrom(...INVALID_UTF8) },
            ),
          }),
        ),
      );
      return fc.record({
        resourceType: fc.constant(resourceType),
        method: fc.constantFrom<'GET' | 'POST'>('GET', 'GET', 'GET', 'POST'),
        parameters: fc.array(
          fc.oneof({ weight: 4, arbitrary: parameter }, { weight: 1, arbitrary: CONTROL_PARAMETERS }),
          { minLength: 1, maxLength: 4 },
        ),
      });
    });
}

/** The encoded query string (application/x-www-form-urlencoded), with any invalid bytes spliced in. */
export function encodeParameters(parameters: Parameter[]): string {
  return parameters
    .map(({ name, value, badBytes }) => {
      const encoded = encodeURIComponentLoose(value);
      return `${encodeURIComponentLoose(name)}=${badBytes ? encoded + badBytes : encoded}`;
    })
    .join('&');
}

/** encodeURIComponent, but a lone surrogate becomes its (invalid) CESU-8 bytes instead of throwing. */
function encodeURIComponentLoose(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out +=
        `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    } else out += encodeURIComponent(char);
  }
  return out;
}
