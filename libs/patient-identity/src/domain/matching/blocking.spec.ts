import { blockedPairs, blockingKeysOf } from './blocking';
import { features } from './testing/fixtures';

const shareKey = (a: string[], b: string[]) => a.some((key) => b.includes(key));

describe('blockingKeysOf', () => {
  const original = features({
    given: 'harley',
    family: 'mccarthy',
    birthDate: '1908-04-19',
    postalCode: '3165',
    line: ['177 pridham street'],
    ssn: '6089216',
    email: 'harley@example.org',
  });

  it('derives keys from names with birth year, birth date, identifiers, e-mail and postcode', () => {
    const keys = blockingKeysOf(original);
    expect(keys).toEqual(
      expect.arrayContaining([
        'birth-date:19080419',
        'identifier:urn:ssn|6089216',
        'email:harley@example.org',
        'email-user:harley',
        'postcode-initial:3165:h',
        'postcode-street:3165:pri',
      ]),
    );
    expect(keys.some((key) => key.startsWith('name-year:') && key.endsWith(':1908'))).toBe(true);
  });

  it('still shares a key when any one field is corrupted or names are swapped', () => {
    const keys = blockingKeysOf(original);
    const variants = [
      features({ given: 'harley', family: 'mccarthy', birthDate: '1980-04-19' }),
      features({ given: 'hraley', family: 'macarty', birthDate: '1908-04-19' }),
      features({ given: 'mccarthy', family: 'harley', birthDate: '1907-04-19' }),
      features({ given: 'x', family: 'y', ssn: '6089216' }),
      features({ given: 'x', family: 'y', postalCode: '3165', line: ['177 pridham st'] }),
    ];
    for (const variant of variants) expect(shareKey(keys, blockingKeysOf(variant))).toBe(true);
  });

  it('gives an empty record no keys', () => {
    expect(blockingKeysOf(features({}))).toEqual([]);
  });
});

describe('blockedPairs', () => {
  it('lists each candidate pair once and skips over-full blocks', () => {
    const records = [
      features({ family: 'green', birthDate: '1956-04-09' }),
      features({ family: 'green', birthDate: '1956-04-09' }),
      features({ family: 'mason', birthDate: '1956-04-09' }),
      features({ family: 'pegg', birthDate: '1953-03-06' }),
    ];
    expect(blockedPairs(records)).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    expect(blockedPairs(records, { maxBlockSize: 2 })).toEqual([[0, 1]]);
  });
});
