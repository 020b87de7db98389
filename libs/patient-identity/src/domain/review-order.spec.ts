import { disagreeingFirst } from './review-order';

describe('disagreeingFirst', () => {
  it('puts disagreeing fields first (strongest disagreement first), then agreeing ones, then missing ones', () => {
    const ordered = disagreeingFirst([
      { field: 'household', level: 'same_family_same_home', weight: 10 },
      { field: 'email', level: 'missing', weight: 0 },
      { field: 'given_name', level: 'different', weight: -11 },
      { field: 'birth_date', level: 'exact', weight: 14 },
      { field: 'identifier', level: 'different', weight: -4 },
    ]);
    expect(ordered.map((c) => c.field)).toEqual([
      'given_name',
      'identifier',
      'birth_date',
      'household',
      'email',
    ]);
  });
});
