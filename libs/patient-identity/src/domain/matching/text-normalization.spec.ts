import { compactText, digitsOnly, foldName, foldText, tokensOf } from './text-normalization';

describe('text normalisation', () => {
  it('folds accents, case and punctuation', () => {
    expect(foldText('  Zoë  O’Brien-Smith ')).toBe('zoe o brien smith');
    expect(foldText(undefined)).toBe('');
  });

  it('keeps only letters in names so spacing variants agree', () => {
    expect(foldName('Mc Carthy')).toBe(foldName('McCarthy'));
    expect(foldName("D'Arcy")).toBe('darcy');
  });

  it('compacts, splits and extracts digits', () => {
    expect(compactText('gran ville')).toBe('granville');
    expect(tokensOf('flt 68 woralul street')).toEqual(['flt', '68', 'woralul', 'street']);
    expect(tokensOf('')).toEqual([]);
    expect(digitsOnly('+61 (02) 9999-1234')).toBe('610299991234');
  });
});
