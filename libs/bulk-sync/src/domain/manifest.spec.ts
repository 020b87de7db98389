import { backoffMs, progressPercent, retryAfterMs } from './backoff';
import { ManifestRefused, parseManifest } from './manifest';

describe('parseManifest (Postel)', () => {
  const status = 'https://ehr.example/bulk/status/42';

  it('resolves relative URLs against the status URL, tolerates a missing count, reads requiresAccessToken', () => {
    expect(
      parseManifest(
        {
          transactionTime: '2026-01-01T00:00:00Z',
          requiresAccessToken: false,
          output: [
            { type: 'Patient', url: '../files/p.ndjson', count: 3 },
            { type: 'Observation', url: 'https://cdn.example/o.ndjson' },
          ],
        },
        status,
      ),
    ).toEqual({
      transactionTime: '2026-01-01T00:00:00Z',
      requiresAccessToken: false,
      output: [
        { type: 'Patient', url: 'https://ehr.example/bulk/files/p.ndjson', count: 3 },
        { type: 'Observation', url: 'https://cdn.example/o.ndjson' },
      ],
      deleted: [],
      error: [],
    });
    expect(
      parseManifest({ transactionTime: '2026-01-01T00:00:00Z', output: [] }, status).requiresAccessToken,
    ).toBe(true);
  });

  it('refuses what cannot be right, saying why', () => {
    expect(() => parseManifest({ transactionTime: '2026-01-01T00:00:00Z' }, status)).toThrow(
      /has no "output" array/,
    );
    expect(() => parseManifest({ output: [] }, status)).toThrow(/no valid "transactionTime"/);
    expect(() =>
      parseManifest({ transactionTime: '2026-01-01T00:00:00Z', output: [{ url: 'x' }] }, status),
    ).toThrow(/output\[0\] needs "type" and "url"/);
    expect(() => parseManifest([], status)).toThrow(ManifestRefused);
  });
});

describe('Retry-After, X-Progress and backoff', () => {
  it('reads delay-seconds and HTTP-dates, the leading percent of X-Progress', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(progressPercent('42% done')).toBe(42);
    expect(progressPercent('in progress')).toBeUndefined();
  });

  it('doubles from the base up to the cap, with jitter in the upper half', () => {
    expect(backoffMs(1, 1000, 60_000, 0)).toBe(500);
    expect(backoffMs(3, 1000, 60_000, 1)).toBe(4000);
    expect(backoffMs(20, 1000, 60_000, 0.5)).toBe(45_000);
  });
});
