import { take } from './token-bucket';

describe('token bucket', () => {
  const limit = { perSecond: 2, burst: 3 };

  it('allows a burst, then refuses until tokens refill, naming when', () => {
    let bucket;
    const results = [];
    for (let i = 0; i < 4; i++) {
      const result = take(bucket, limit, 1000);
      bucket = result.bucket;
      results.push(result.allowed);
    }
    expect(results).toEqual([true, true, true, false]);
    const refused = take(bucket, limit, 1000);
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(take(refused.bucket, limit, 1500).allowed).toBe(true);
  });

  it('never holds more than the burst', () => {
    const idle = take(undefined, limit, 0);
    expect(take(idle.bucket, limit, 60_000).bucket.tokens).toBe(2);
  });
});
