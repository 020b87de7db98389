import { covers, notCovered, parseScope, parseScopes, ScopeError, ScopeGrants } from './scopes';

const isType = (t: string) => ['Patient', 'Observation', 'Encounter'].includes(t);
const parse = (text: string) => parseScope(text, isType);

describe('SMART scopes', () => {
  it('parses v2 scopes and maps v1 to v2', () => {
    expect(parse('system/Patient.rs')).toMatchObject({
      kind: 'resource',
      type: 'Patient',
      text: 'system/Patient.rs',
    });
    expect(parse('system/*.read').text).toBe('system/*.rs');
    expect(parse('system/Observation.write').text).toBe('system/Observation.cud');
    expect(parse('system/*.*').text).toBe('system/*.cruds');
    expect(parse('system/Observation.rs?category=laboratory')).toMatchObject({
      constraint: { category: 'laboratory' },
      text: 'system/Observation.rs?category=laboratory',
    });
    expect(parse('system/fhir-aggregator.admin')).toEqual({
      kind: 'own',
      text: 'system/fhir-aggregator.admin',
    });
  });

  it.each([
    ['patient/*.rs', /system\/ scopes only/],
    ['user/Patient.read', /system\/ scopes only/],
    ['system/Patient.sr', /subset of "cruds" in that order/],
    ['system/Patient.x', /subset of "cruds"/],
    ['system/Foo.rs', /Foo is not a FHIR R4 resource type/],
    ['system/*.rs?category=laboratory', /needs a resource type/],
    ['system/Patient.read?x=y', /v1 scope .* takes no \?parameter/],
    ['system/fhir-aggregator.root', /not one of our scopes/],
    ['openid', /not system\//],
  ])('refuses %s', (text, reason) => {
    expect(() => parse(text)).toThrow(ScopeError);
    expect(() => parse(text)).toThrow(reason);
  });

  it('de-duplicates a scope list and refuses an empty one', () => {
    expect(parseScopes('system/*.read  system/*.rs', isType).map((s) => s.text)).toEqual(['system/*.rs']);
    expect(() => parseScopes('  ', isType)).toThrow(/no scope given/);
  });

  it('covers narrower requests only', () => {
    const wide = parse('system/*.rs');
    expect(covers(wide, parse('system/Patient.r'))).toBe(true);
    expect(covers(wide, parse('system/Patient.rs?gender=male'))).toBe(true);
    expect(covers(wide, parse('system/Patient.c'))).toBe(false);
    const granular = parse('system/Observation.rs?category=laboratory');
    expect(covers(granular, parse('system/Observation.rs'))).toBe(false);
    expect(covers(granular, parse('system/Observation.r?category=laboratory'))).toBe(true);
    expect(covers(parse('system/fhir-aggregator.admin'), parse('system/fhir-aggregator.mdm'))).toBe(false);
    expect(
      notCovered([wide], [parse('system/Patient.rs'), parse('system/fhir-aggregator.admin')]).map(
        (s) => s.text,
      ),
    ).toEqual(['system/fhir-aggregator.admin']);
  });

  it('grants by type and permission, whole or constrained', () => {
    const grants = new ScopeGrants(
      parseScopes(
        'system/Patient.rs system/Observation.rs?category=laboratory system/fhir-aggregator.mdm',
        isType,
      ),
    );
    expect(grants.allows('Patient', 'r')).toBe(true);
    expect(grants.allows('Patient', 'c')).toBe(false);
    expect(grants.allows('Encounter', 'r')).toBe(false);
    expect(grants.constraints('Patient', 'r')).toBe('all');
    expect(grants.constraints('Observation', 's')).toEqual([{ category: 'laboratory' }]);
    expect(grants.constraints('Encounter', 's')).toEqual([]);
    expect(grants.types('r')).toEqual(['Observation', 'Patient']);
    expect(grants.hasOwn('system/fhir-aggregator.mdm')).toBe(true);
    expect(grants.hasOwn('system/fhir-aggregator.admin')).toBe(false);
    expect(new ScopeGrants(parseScopes('system/*.r', isType)).types('r')).toBe('*');
  });
});
