import { Bucket, RateLimit, take } from './domain/token-bucket';

/** A token bucket per client id in this process (AUTH_RATE_LIMIT); none when the limit is off. */
export class ClientRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(readonly limit: RateLimit | undefined) {}

  /** Takes one request's token; when none is left, how many seconds until one is. */
  take(
    clientId: string,
    nowMs = Date.now(),
  ): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    if (!this.limit) return { allowed: true };
    const result = take(this.buckets.get(clientId), this.limit, nowMs);
    this.buckets.set(clientId, result.bucket);
    return result.allowed
      ? { allowed: true }
      : { allowed: false, retryAfterSeconds: result.retryAfterSeconds };
  }
}
