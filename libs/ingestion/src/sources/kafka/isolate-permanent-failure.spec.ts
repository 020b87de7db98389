import { appendIsolatingPermanentFailures } from './isolate-permanent-failure';

const permanent = () => Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
const transient = () => Object.assign(new Error('the database system is starting up'), { code: '57P03' });

/** A fake store that refuses any append containing a poison item, and records what it accepted. */
function store(poison: Set<number>, failFirstWith?: () => Error) {
  const appended: number[] = [];
  const rejected: number[] = [];
  let appends = 0;
  let first = failFirstWith;
  return {
    appended,
    rejected,
    appends: () => appends,
    steps: {
      append: async (items: number[]) => {
        appends++;
        if (first) {
          const error = first();
          first = undefined;
          throw error;
        }
        if (items.some((i) => poison.has(i))) throw permanent();
        appended.push(...items);
        return items.length;
      },
      reject: async (item: number) => {
        rejected.push(item);
        return 0;
      },
    },
  };
}

describe('appendIsolatingPermanentFailures', () => {
  it('appends a good list in one go', async () => {
    const s = store(new Set());
    await appendIsolatingPermanentFailures([1, 2, 3], s.steps);
    expect(s.appended).toEqual([1, 2, 3]);
    expect(s.appends()).toBe(1);
  });

  it('finds the one poison item among 100 by halving, rejects it and appends the other 99 in order', async () => {
    const s = store(new Set([37]));
    const items = Array.from({ length: 100 }, (_, i) => i);
    await appendIsolatingPermanentFailures(items, s.steps);
    expect(s.rejected).toEqual([37]);
    expect(s.appended).toEqual(items.filter((i) => i !== 37));
    expect(s.appends()).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(100)));
  });

  it('isolates several poison items, including the first and the last', async () => {
    const s = store(new Set([0, 5, 9]));
    await appendIsolatingPermanentFailures(
      Array.from({ length: 10 }, (_, i) => i),
      s.steps,
    );
    expect(s.rejected).toEqual([0, 5, 9]);
    expect(s.appended).toEqual([1, 2, 3, 4, 6, 7, 8]);
  });

  it('throws a transient failure for the caller to retry, rejecting nothing', async () => {
    const s = store(new Set(), transient);
    await expect(appendIsolatingPermanentFailures([1, 2], s.steps)).rejects.toMatchObject({ code: '57P03' });
    expect(s.rejected).toEqual([]);
    expect(s.appended).toEqual([]);
  });

  it('a single permanently failing item is rejected with the error', async () => {
    const errors: unknown[] = [];
    await appendIsolatingPermanentFailures([7], {
      append: async () => {
        throw permanent();
      },
      reject: async (_item, error) => {
        errors.push(error);
      },
    });
    expect(errors).toEqual([expect.objectContaining({ code: '22P05' })]);
  });
});
