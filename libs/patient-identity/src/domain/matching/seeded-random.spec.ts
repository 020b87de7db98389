import { seededRandom, shuffled } from './seeded-random';

describe('seededRandom', () => {
  it('repeats for one seed and differs between seeds', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    for (const value of draw(7)) expect(value).toBeGreaterThanOrEqual(0);
  });

  it('shuffles a copy into a permutation', () => {
    const items = [1, 2, 3, 4, 5, 6];
    const result = shuffled(items, seededRandom(1));
    expect(items).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...result].sort()).toEqual(items);
  });
});
