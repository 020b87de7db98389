import { parseSearchRequest, SearchParameterError } from './search-request';
import { r4SearchParameters } from './search-parameters';

const registry = r4SearchParameters();
const parse = (type: string, params: Record<string, string | string[]>) =>
  parseSearchRequest(type, params, registry);

describe('parseSearchRequest', () => {
  it('reads tokens in all four forms, comma as OR and repetition as AND', () => {
    const request = parse('Observation', { code: ['http://loinc.org|1,|2,3', 'sys|'] });
    expect(request.filters).toEqual([
      expect.objectContaining({
        kind: 'token',
        values: [{ system: 'http://loinc.org', code: '1' }, { system: null, code: '2' }, { code: '3' }],
      }),
      expect.objectContaining({ kind: 'token', values: [{ system: 'sys' }] }),
    ]);
  });

  it('refuses a parameter with no value at all, _id and _lastUpdated included (found by the search fuzz)', () => {
    for (const [name, value] of [
      ['_lastUpdated', ','],
      ['_id', ''],
      ['_id:not', ',,'],
      ['family', ','],
    ]) {
      expect(() => parse('Patient', { [name]: value })).toThrow(
        new SearchParameterError(name, `${name}: a value is required`),
      );
    }
  });

  it('reads date prefixes and the range a partial date denotes', () => {
    const [filter] = parse('Patient', { birthdate: 'ge1970-02' }).filters;
    expect(filter).toMatchObject({
      kind: 'date',
      values: [
        {
          prefix: 'ge',
          start: new Date('1970-02-01T00:00:00.000Z'),
          end: new Date('1970-02-28T23:59:59.999Z'),
        },
      ],
    });
  });

  it('gives numbers the implicit range of their precision, and quantities their system and code', () => {
    const [filter] = parse('Observation', { 'value-quantity': 'lt5.4|http://unitsofmeasure.org|mg' }).filters;
    expect(filter).toMatchObject({
      kind: 'number',
      values: [{ prefix: 'lt', value: '5.4', system: 'http://unitsofmeasure.org', code: 'mg' }],
    });
    const range = (value: string) => {
      const [eq] = parse('RiskAssessment', { probability: value }).filters as {
        values: { value: string; low: string; high: string }[];
      }[];
      return [eq.values[0].value, eq.values[0].low, eq.values[0].high];
    };
    // Exact decimal text, not doubles: 5.4 - 0.05 is 5.3500000000000005 in floating point.
    expect(range('5.4')).toEqual(['5.4', '5.35', '5.45']);
    expect(range('100')).toEqual(['100', '99.5', '100.5']);
    expect(range('1.50')).toEqual(['1.50', '1.495', '1.505']);
    expect(range('-0.5')).toEqual(['-0.5', '-0.55', '-0.45']);
    expect(range('0.001')).toEqual(['0.001', '0.0005', '0.0015']);
    expect(range('5.4e2')).toEqual(['540', '535', '545']);
    expect(range('1e-2')).toEqual(['0.01', '0.005', '0.015']);
    expect(range('12345678901234567890.5')).toEqual([
      '12345678901234567890.5',
      '12345678901234567890.45',
      '12345678901234567890.55',
    ]);
  });

  it('reads references as Type/id, bare id, :Type and :identifier', () => {
    const filters = parse('Observation', {
      subject: 'Patient/abc,def',
      'subject:Patient': 'ghi',
      'subject:identifier': 'http://mrn|1',
    }).filters;
    expect(filters).toEqual([
      expect.objectContaining({ kind: 'reference', values: [{ type: 'Patient', id: 'abc' }, { id: 'def' }] }),
      expect.objectContaining({ kind: 'reference', values: [{ type: 'Patient', id: 'ghi' }] }),
      expect.objectContaining({ kind: 'token', indexParam: 'subject:identifier' }),
    ]);
  });

  it('normalizes string values for prefix and :contains but not :exact', () => {
    const filters = parse('Patient', {
      family: 'Ångström',
      'given:exact': 'Zoë',
      'name:contains': 'SMITH',
    }).filters;
    expect(filters.map((f) => (f as { values: string[] }).values[0])).toEqual(['angstrom', 'Zoë', 'smith']);
  });

  it('reads result parameters: _sort, _count, _include(:iterate), _revinclude, _elements, _asOf', () => {
    const request = parse('Encounter', {
      _sort: '-date,_id',
      _count: '5000',
      _include: 'Encounter:subject:Patient',
      '_revinclude:iterate': 'Observation:encounter',
      _elements: 'status,subject',
      _asOf: '2024-01',
    });
    expect(request.sort).toEqual([
      expect.objectContaining({ descending: true, definition: expect.objectContaining({ code: 'date' }) }),
      { column: '_id', descending: false },
    ]);
    expect(request.count).toBe(1000);
    expect(request.includes).toEqual([
      { sourceType: 'Encounter', param: 'subject', targetType: 'Patient', iterate: false },
    ]);
    expect(request.revIncludes).toEqual([{ sourceType: 'Observation', param: 'encounter', iterate: true }]);
    expect(request.elements).toEqual(['status', 'subject']);
    expect(request.asOf).toEqual(new Date('2024-01-31T23:59:59.999Z'));
  });

  it('parses chains, _has, composites, :text and :of-type', () => {
    const request = parse('Observation', {
      'subject:Patient.name': 'smith',
      'patient.general-practitioner:Practitioner.name': 'ann',
      'code:text': 'Bódy',
      'combo-code-value-quantity':
        'http://loinc.org|8480-6$gt100,8462-4$lt90|http://unitsofmeasure.org|mm[Hg]',
    });
    const [chain, twoLevels, text, composite] = request.filters;
    expect(chain).toMatchObject({
      kind: 'chain',
      targets: [
        { resourceType: 'Patient', filter: { kind: 'string', indexParam: 'name', values: ['smith'] } },
      ],
    });
    expect(twoLevels).toMatchObject({
      kind: 'chain',
      targets: [
        { resourceType: 'Patient', filter: { kind: 'chain', targets: [{ resourceType: 'Practitioner' }] } },
      ],
    });
    expect(text).toMatchObject({
      kind: 'string',
      indexParam: 'code:text',
      match: 'prefix',
      values: ['body'],
    });
    expect(composite).toMatchObject({
      kind: 'composite',
      values: [
        [
          { kind: 'token', values: [{ system: 'http://loinc.org', code: '8480-6' }] },
          { kind: 'number', values: [{ prefix: 'gt', value: '100' }] },
        ],
        [
          { kind: 'token', values: [{ code: '8462-4' }] },
          { kind: 'number', values: [{ prefix: 'lt', value: '90', code: 'mm[Hg]' }] },
        ],
      ],
    });
    const has = parse('Patient', { '_has:Observation:patient:_has:DiagnosticReport:result:status': 'final' });
    expect(has.filters[0]).toMatchObject({
      kind: 'has',
      sourceType: 'Observation',
      filter: { kind: 'has', sourceType: 'DiagnosticReport', filter: { kind: 'token' } },
    });
    expect(
      parse('Patient', { 'identifier:of-type': 'http://terminology.hl7.org/CodeSystem/v2-0203|MR|42' })
        .filters[0],
    ).toMatchObject({ indexParam: 'identifier:of-type', values: [{ code: 'MR|42' }] });
  });

  it('collects unknown parameters instead of failing on them', () => {
    expect(parse('Patient', { colour: 'blue', family: 'x' }).unknown).toEqual(['colour']);
  });

  it.each([
    ['Patient', { birthdate: '1970-13-01' }, 'birthdate', /not a valid FHIR date/],
    ['Patient', { birthdate: 'xx1970' }, 'birthdate', /unknown prefix/],
    ['Observation', { 'value-quantity': 'abc' }, 'value-quantity', /not a number/],
    ['Patient', { 'gender:missing': 'yes' }, 'gender:missing', /true or false/],
    ['Patient', { 'family:below': 'x' }, 'family:below', /not supported/],
    ['Observation', { 'subject:Medication': 'x' }, 'subject:Medication', /cannot refer to Medication/],
    ['Observation', { subject: 'not a reference' }, 'subject', /not a reference/],
    ['Observation', { _count: '-1' }, '_count', /non-negative integer/],
    ['Observation', { _sort: 'colour' }, '_sort', /not a search parameter/],
    ['Observation', { _include: 'Observation:code' }, '_include', /not a reference parameter/],
    ['Observation', { _asOf: ['2020', '2021'] }, '_asOf', /only once/],
    ['Observation', { 'subject.colour': 'x' }, 'subject.colour', /"colour" is not a search parameter/],
    ['Observation', { 'code.name': 'x' }, 'code.name', /only references can be chained/],
    ['Observation', { 'colour.name': 'x' }, 'colour.name', /not a search parameter of Observation/],
    [
      'Observation',
      { 'subject:Patient.organization.partof.partof.name': 'x' },
      'subject:Patient.organization.partof.partof.name',
      /at most 3 levels/,
    ],
    [
      'Patient',
      { '_has:Observation:code:code': 'x' },
      '_has:Observation:code:code',
      /not a reference parameter/,
    ],
    ['Patient', { '_has:Colour:patient:code': 'x' }, '_has:Colour:patient:code', /unknown resource type/],
    [
      'Observation',
      { 'code-value-quantity': 'http://loinc.org|8302-2' },
      'code-value-quantity',
      /2 components/,
    ],
    [
      'Observation',
      { 'code-value-quantity': 'http://loinc.org|8302-2$gtx' },
      'code-value-quantity',
      /not a number/,
    ],
    ['Observation', { 'code-value-date': 'x$2020-13' }, 'code-value-date', /not a valid FHIR date/],
    ['Patient', { 'identifier:of-type': 'MR|123' }, 'identifier:of-type', /<type system>\|<type code>/],
    ['Observation', { _sort: 'code-value-quantity' }, '_sort', /composite/],
    ['Observation', { _id: "1' OR '1'='1" }, '_id', /not a valid id/],
  ])('%s: rejects %j naming the parameter', (type, params, parameter, message) => {
    let error: unknown;
    try {
      parse(type, params as Record<string, string | string[]>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SearchParameterError);
    expect((error as SearchParameterError).parameter).toBe(parameter);
    expect((error as Error).message).toMatch(message);
  });
});
