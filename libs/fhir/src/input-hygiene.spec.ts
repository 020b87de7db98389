import { decodeUtf8Strict, findForbiddenCharacter, mayHoldUnstorable, storableText } from './input-hygiene';
import { findJsonProblem, searchValueTooLong } from './input-limits';

const findUnstorableString = (value: unknown) => findJsonProblem(value, { strings: true });

describe('decodeUtf8Strict', () => {
  it('decodes valid UTF-8, dropping a BOM', () => {
    expect(decodeUtf8Strict(Buffer.from('Ångström 🙂'))).toEqual({ ok: true, text: 'Ångström 🙂' });
    expect(decodeUtf8Strict(Buffer.from('\ufeff{}'))).toEqual({ ok: true, text: '{}' });
  });

  it.each([
    ['a broken two-byte sequence', [0x7b, 0xc3, 0x28, 0x7d], 2],
    ['an overlong "/"', [0x41, 0xc0, 0xaf], 1],
    ['an encoded surrogate (CESU)', [0xed, 0xa0, 0x80], 1],
    ['a lone continuation byte', [0x41, 0x42, 0x80], 2],
    ['0xff', [0xff], 0],
    ['a truncated sequence at the end', [0x41, 0xe2, 0x82], 2],
  ])('rejects %s as invalid-utf8, saying where', (_what, bytes, at) => {
    const result = decodeUtf8Strict(Uint8Array.from(bytes));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem.code).toBe('invalid-utf8');
    expect(result.problem.reason).toBe(`not valid UTF-8: the byte sequence ending at byte ${at} is invalid`);
  });
});

describe('findForbiddenCharacter', () => {
  it('finds NULs and lone surrogates, and controls only when asked', () => {
    expect(findForbiddenCharacter('abc')).toBeUndefined();
    expect(findForbiddenCharacter('ab\u0000c')).toEqual({ code: 'nul-character', index: 2 });
    expect(findForbiddenCharacter('x\ud800')).toEqual({ code: 'lone-surrogate', index: 1 });
    expect(findForbiddenCharacter('\udc00x')).toEqual({ code: 'lone-surrogate', index: 0 });
    expect(findForbiddenCharacter('🙂 ok')).toBeUndefined();
    expect(findForbiddenCharacter('line\nbreak')).toBeUndefined();
    expect(findForbiddenCharacter('tab\tline\nbreak\r', { controls: true })).toBeUndefined();
    expect(findForbiddenCharacter('bell\u0007', { controls: true })).toEqual({
      code: 'control-character',
      index: 4,
    });
    expect(findForbiddenCharacter('del\u007f', { controls: true })?.code).toBe('control-character');
  });
});

describe('findJsonProblem', () => {
  it('names the path of the first bad string or key, quoting no content', () => {
    const patient = { resourceType: 'Patient', name: [{ given: ['Ann'] }, { family: 'Sm\u0000ith' }] };
    expect(findUnstorableString(patient)).toEqual({
      code: 'nul-character',
      reason: 'the string at name[1].family holds a NUL character (U+0000) at character 2',
    });
    expect(findUnstorableString({ a: { ['b\ud800']: 1 } })?.reason).toBe(
      'a property name under a holds an unpaired UTF-16 surrogate (invalid Unicode) at character 1',
    );
    expect(findUnstorableString({ resourceType: 'Patient', active: true, n: [1, null] })).toBeUndefined();
  });

  it('never recurses without bound: 100,000 levels are too deep, a NUL 50 levels down is found', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(findUnstorableString(deep)).toEqual({
      code: 'too-deep',
      reason: `nested deeper than 64 levels at ${'a.'.repeat(64).slice(0, -1)}`,
    });
    let shallow: unknown = 'x\u0000';
    for (let i = 0; i < 50; i++) shallow = [shallow];
    expect(findUnstorableString(shallow)?.code).toBe('nul-character');
  });

  it('checks strings for NUL and surrogates only when asked, the limits always', () => {
    expect(findJsonProblem({ a: 'x\u0000' }, { strings: false })).toBeUndefined();
    expect(findJsonProblem({ a: 'x'.repeat(2_000_000) }, { strings: false })?.code).toBe('too-long');
    expect(findJsonProblem(Array(100_001).fill(1), { strings: false })?.code).toBe('too-many-elements');
    expect(findJsonProblem(Array(99_999).fill(1), { strings: false })).toBeUndefined();
  });

  it('searchValueTooLong names the parameter, its type and the limit', () => {
    expect(searchValueTooLong('name', 'string', 'a'.repeat(512))).toBeUndefined();
    expect(searchValueTooLong('name', 'string', 'a'.repeat(513))).toBe(
      'name: a value of 513 characters is too long; a string parameter value has at most 512',
    );
    expect(searchValueTooLong('_id', 'id', 'a'.repeat(65))).toMatch(/at most 64$/);
  });

  it('mayHoldUnstorable is false only for text that cannot decode to such strings', () => {
    expect(mayHoldUnstorable('{"a":"\\u0000"}')).toBe(true);
    expect(mayHoldUnstorable('{"a":"\\uD83D"}')).toBe(true);
    expect(mayHoldUnstorable('{"a":"x\u0000"}')).toBe(true);
    expect(mayHoldUnstorable('{"a":"\\u00e9 \\n"}')).toBe(false);
  });

  it('storableText replaces what PostgreSQL cannot store and keeps pairs', () => {
    expect(storableText('a\u0000b\ud800c🙂')).toBe('a\ufffdb\ufffdc🙂');
  });
});
