/** A token bucket (pure): `perSecond` tokens refill continuously up to `burst`; each request takes one. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export interface Bucket {
  readonly tokens: number;
  readonly updatedAtMs: number;
}

export type TakeResult =
  { allowed: true; bucket: Bucket } | { allowed: false; bucket: Bucket; retryAfterSeconds: number };

export function take(bucket: Bucket | undefined, limit: RateLimit, nowMs: number): TakeResult {
  const previous = bucket ?? { tokens: limit.burst, updatedAtMs: nowMs };
  const elapsed = Math.max(0, nowMs - previous.updatedAtMs) / 1000;
  const tokens = Math.min(limit.burst, previous.tokens + elapsed * limit.perSecond);
  if (tokens >= 1) return { allowed: true, bucket: { tokens: tokens - 1, updatedAtMs: nowMs } };
  return {
    allowed: false,
    bucket: { tokens, updatedAtMs: nowMs },
    // Retry-After is whole seconds: the next token's arrival, rounded up.
    retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / limit.perSecond)),
  };
}
