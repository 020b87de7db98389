import { checkQueryString, MAX_PARAMETERS } from './input-hygiene.middleware';

describe('checkQueryString', () => {
  it('lets ordinary FHIR queries through, encoded or not', () => {
    expect(checkQueryString('')).toBeUndefined();
    expect(checkQueryString('family=%C3%85ngstr%C3%B6m&birthdate=ge2000&_count=5')).toBeUndefined();
    expect(checkQueryString('code=http://loinc.org%7C2339-0&name:contains=a+b&_sort=-date')).toBeUndefined();
    expect(checkQueryString('name=100%&x')).toBeUndefined();
    expect(checkQueryString('name=Ångström🙂')).toBeUndefined();
    expect(checkQueryString('name:exact=Tab%09there')).toBeUndefined();
  });

  it.each([
    ['name=%00', 'name', 'the value of parameter name holds a NUL character (U+0000) at character 0'],
    ['family:contains=ab%00', 'family:contains', 'holds a NUL character (U+0000) at character 2'],
    ['gender:not=%00', 'gender:not', 'NUL'],
    ['family=%C3%28', 'family', 'parameter family: not valid UTF-8'],
    ['family=%C0%AF', 'family', 'not valid UTF-8'],
    ['family=%ED%A0%80', 'family', 'not valid UTF-8'],
    ['name=a%01b', 'name', 'holds a control character at character 1'],
    ['name=%1B%5B31m', 'name', 'holds a control character at character 0'],
    ['name=%7F', 'name', 'control character'],
  ])('%s is refused naming %s', (query, parameter, reason) => {
    const problem = checkQueryString(query);
    expect(problem?.parameter).toBe(parameter);
    expect(problem?.reason).toContain(reason);
  });

  it('refuses a bad parameter name without naming it', () => {
    expect(checkQueryString('ok=1&na%00me=x')).toEqual({
      reason: 'a parameter name holds a NUL character (U+0000) at character 2',
    });
    expect(checkQueryString('%FF=x')?.reason).toMatch(/^a parameter name is not valid UTF-8/);
  });

  it(`refuses more than ${MAX_PARAMETERS} parameters`, () => {
    const many = Array.from({ length: MAX_PARAMETERS + 1 }, (_, i) => `p${i}=1`).join('&');
    expect(checkQueryString(many)?.reason).toBe(
      `too many parameters: ${MAX_PARAMETERS + 1}, at most ${MAX_PARAMETERS}`,
    );
    expect(checkQueryString(many.slice(0, many.lastIndexOf('&')))).toBeUndefined();
  });
});
