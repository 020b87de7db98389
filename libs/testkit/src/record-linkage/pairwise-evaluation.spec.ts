import { pairwiseAccuracy } from './pairwise-evaluation';

describe('pairwiseAccuracy', () => {
  it('counts pairs within predicted clusters against pairs within true clusters', () => {
    const truth = new Map([
      ['a', '1'],
      ['b', '1'],
      ['c', '1'],
      ['d', '2'],
    ]);
    const predicted = new Map([
      ['a', 'x'],
      ['b', 'x'],
      ['c', 'y'],
      ['d', 'y'],
    ]);
    expect(pairwiseAccuracy(predicted, truth)).toEqual({
      truePositives: 1,
      falsePositives: 1,
      falseNegatives: 2,
      precision: 0.5,
      recall: 1 / 3,
      f1: 0.4,
    });
  });

  it('treats no predicted pairs as perfect precision and fails on unknown records', () => {
    const truth = new Map([['a', '1']]);
    expect(pairwiseAccuracy(new Map([['a', 'x']]), truth).precision).toBe(1);
    expect(() => pairwiseAccuracy(new Map(), truth)).toThrow(/a/);
  });
});
