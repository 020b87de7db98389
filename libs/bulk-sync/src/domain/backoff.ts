/** How long to wait before retry `attempt` (1, 2, …): exponential from baseMs, capped, with jitter (half of it fixed, half random). */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/**
 * Pure: a Retry-After header (delay-seconds or an HTTP-date) as milliseconds from `now`; undefined when absent
 * or unreadable (then the caller's backoff decides).
 */
export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Pure: the leading percent of an X-Progress header ("42% done", "42"), if there is one. */
export function progressPercent(header: string | null | undefined): number | undefined {
  const match = /^\s*(\d{1,3}(?:\.\d+)?)\s*%?/.exec(header ?? '');
  return match ? Math.min(100, Number(match[1])) : undefined;
}
