import {
  FhirOperationDefinition,
  OperationParameterError,
  operationMethod,
  operationRoute,
  parseOperationInput,
} from './operation-definition';

const definition: FhirOperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Thing-probe',
  url: 'https://example.org/OperationDefinition/Thing-probe',
  name: 'ThingProbe',
  status: 'active',
  kind: 'operation',
  code: 'probe',
  resource: ['Patient'],
  system: false,
  type: false,
  instance: true,
  parameter: [
    { name: 'who', use: 'in', min: 1, max: '1', type: 'string' },
    { name: 'count', use: 'in', min: 0, max: '1', type: 'unsignedInt' },
    { name: 'since', use: 'in', min: 0, max: '1', type: 'instant' },
    { name: 'flag', use: 'in', min: 0, max: '1', type: 'boolean' },
    { name: 'tag', use: 'in', min: 0, max: '*', type: 'code' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle' },
  ],
};

function rejects(input: Parameters<typeof parseOperationInput>[1], parameter: string, message: RegExp) {
  let error: unknown;
  try {
    parseOperationInput(definition, input);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(OperationParameterError);
  expect((error as OperationParameterError).parameter).toBe(parameter);
  expect((error as Error).message).toMatch(message);
}

describe('OperationDefinition-driven input', () => {
  it('derives the route from the level and the resource', () => {
    expect(operationRoute(definition)).toBe('Patient/:id/$probe');
    expect(operationRoute({ ...definition, instance: false, type: true })).toBe('Patient/$probe');
    expect(operationRoute({ ...definition, system: true, resource: undefined })).toBe('$probe');
    expect(() => operationRoute({ ...definition, resource: ['Patient', 'Group'] })).toThrow(/exactly one/);
  });

  it('parses each declared type, keeps repeats of max "*" parameters, and names unknown parameters', () => {
    const input = parseOperationInput(definition, {
      who: 'me',
      count: '7',
      since: '2026-01-02',
      flag: 'true',
      tag: ['a', 'b'],
      _format: 'json',
      bogus: 'x',
    });
    expect(input.values).toMatchObject({ who: 'me', count: 7, flag: true, tag: ['a', 'b'] });
    expect(input.values.since).toEqual({
      start: new Date('2026-01-02T00:00:00.000Z'),
      end: new Date('2026-01-02T23:59:59.999Z'),
    });
    expect(input.values.return).toBeUndefined();
    expect(input.unknown).toEqual(['bogus']);
  });

  it('reads a Parameters body the same way (valueX of each part)', () => {
    const input = parseOperationInput(definition, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'who', valueReference: { reference: 'Patient/1' } },
        { name: 'count', valueUnsignedInt: 3 },
        { name: 'tag', valueCode: 'x' },
        { name: 'tag', valueCode: 'y' },
      ],
    });
    expect(input.values).toMatchObject({ who: 'Patient/1', count: 3, tag: ['x', 'y'] });
  });

  it('rejects missing required, repeated single, and malformed values, naming the parameter', () => {
    rejects({}, 'who', /who is required/);
    rejects({ who: ['a', 'b'] }, 'who', /only once/);
    rejects({ who: 'a', count: '-1' }, 'count', /non-negative integer/);
    rejects({ who: 'a', since: 'yesterday' }, 'since', /FHIR instant/);
    rejects({ who: 'a', flag: 'yes' }, 'flag', /true or false/);
    rejects({ who: '' }, 'who', /non-empty/);
    rejects({ resourceType: 'Parameters' } as never, 'parameter', /no parameter array/);
  });

  it('is GET when read-only with URL-writable inputs, POST when it affects state or takes a resource', () => {
    expect(operationMethod({ ...definition, affectsState: false })).toBe('GET');
    expect(operationMethod({ ...definition, affectsState: true })).toBe('POST');
    const withResource: FhirOperationDefinition = {
      ...definition,
      affectsState: false,
      parameter: [
        ...definition.parameter!,
        { name: 'subject', use: 'in', min: 0, max: '1', type: 'Reference' },
        { name: 'body', use: 'in', min: 1, max: '1', type: 'Resource' },
      ],
    };
    expect(operationMethod({ ...withResource, parameter: withResource.parameter!.slice(0, -1) })).toBe('GET');
    expect(operationMethod(withResource)).toBe('POST');
    const view = { resourceType: 'ViewDefinition', resource: 'Patient' };
    const parsed = parseOperationInput(withResource, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'who', valueString: 'me' },
        { name: 'body', resource: view as never },
        { name: 'subject', valueReference: { reference: 'Patient/p1' } },
      ],
    });
    expect(parsed.values).toMatchObject({ who: 'me', body: view, subject: 'Patient/p1' });
    expect(() => parseOperationInput(withResource, { who: 'me', body: 'text' })).toThrow(
      /body must be a resource/,
    );
  });
});
