import { classify, DEFAULT_THRESHOLDS, validateThresholds } from './thresholds';

describe('classify', () => {
  it('applies probability thresholds to the posterior', () => {
    expect(classify(7, DEFAULT_THRESHOLDS)).toBe('MATCH');
    expect(classify(3, DEFAULT_THRESHOLDS)).toBe('POSSIBLE_MATCH');
    expect(classify(-1, DEFAULT_THRESHOLDS)).toBe('NO_MATCH');
  });

  it('applies weight thresholds to the weight in bits', () => {
    const thresholds = { scale: 'weight', match: 10, possibleMatch: 2 } as const;
    expect(classify(10, thresholds)).toBe('MATCH');
    expect(classify(2, thresholds)).toBe('POSSIBLE_MATCH');
    expect(classify(1.9, thresholds)).toBe('NO_MATCH');
  });

  it('rejects inconsistent thresholds', () => {
    expect(() => validateThresholds({ scale: 'probability', match: 0.5, possibleMatch: 0.9 })).toThrow();
    expect(() => validateThresholds({ scale: 'probability', match: 1, possibleMatch: 0.5 })).toThrow();
    expect(() => validateThresholds({ scale: 'weight', match: Number.NaN, possibleMatch: 0 })).toThrow();
    expect(validateThresholds({ scale: 'weight', match: 12, possibleMatch: -3 })).toEqual({
      scale: 'weight',
      match: 12,
      possibleMatch: -3,
    });
  });
});
