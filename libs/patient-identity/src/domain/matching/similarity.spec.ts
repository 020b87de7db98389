import { jaroWinkler, sharesCode, withinEdits } from './similarity';

describe('similarity', () => {
  it('gives the textbook Jaro–Winkler values', () => {
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.961, 3);
    expect(jaroWinkler('dwayne', 'duane')).toBeCloseTo(0.84, 2);
    expect(jaroWinkler('same', 'same')).toBe(1);
    expect(jaroWinkler('', 'x')).toBe(0);
  });

  it('counts an adjacent transposition as one edit', () => {
    expect(withinEdits('19560409', '19564009', 1)).toBe(true);
    expect(withinEdits('mason', 'masno', 1)).toBe(true);
    expect(withinEdits('mason', 'smith', 2)).toBe(false);
    expect(withinEdits('a', 'abcd', 2)).toBe(false);
  });

  it('finds shared phonetic codes', () => {
    expect(sharesCode(['SM0', 'XMT'], ['XMT'])).toBe(true);
    expect(sharesCode(['JNS'], ['ANS'])).toBe(false);
  });
});
