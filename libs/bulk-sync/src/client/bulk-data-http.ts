import { signClientAssertion, tokenRequestForm } from '@fa/access';
import { backoffMs, retryAfterMs } from '../domain/backoff';
import type { ClientJwk } from './client-key';

export interface BulkDataHttpOptions {
  /** The server's FHIR base URL. */
  base: string;
  clientId: string;
  key: ClientJwk;
  scope: string;
  /** The token endpoint; default: the one the server's .well-known/smart-configuration names. */
  tokenUrl?: string;
  signal: AbortSignal;
  /** First backoff step after a failure without Retry-After (default 1 s), doubling up to maxBackoffMs. */
  retryBaseMs?: number;
  maxBackoffMs?: number;
  /** Attempts per request before giving up on 429, 5xx or a network failure (default 8). */
  maxAttempts?: number;
  onRetry?: (what: string, waitMs: number) => void;
}

export class BulkDataError extends Error {}

/** Waits ms, or rejects at once when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * HTTP to a Bulk Data server as a SMART Backend Services client: a token from a signed assertion (RS384/ES384,
 * kid, a new jti, exp 5 min), renewed a minute before it expires and once more on a 401; 429 and 5xx answers and
 * network failures are retried after Retry-After when the server says, else after an exponential backoff with
 * jitter.
 */
export class BulkDataHttp {
  private token?: { value: string; renewAt: number };
  private tokenUrl?: string;

  constructor(readonly options: BulkDataHttpOptions) {
    this.tokenUrl = options.tokenUrl;
  }

  /** A fetch with the bearer token (unless auth is false) and the retries above. Never returns a 401/429/5xx. */
  async fetch(url: string, init: RequestInit & { auth?: boolean } = {}): Promise<Response> {
    const maxAttempts = this.options.maxAttempts ?? 8;
    const signal = init.signal ?? this.options.signal;
    let renewedOn401 = false;
    for (let attempt = 1; ; attempt++) {
      const headers = new Headers(init.headers);
      if (init.auth !== false) headers.set('authorization', `Bearer ${await this.accessToken(signal)}`);
      let response: Response;
      try {
        response = await fetch(url, { ...init, headers, signal });
      } catch (error) {
        if (signal.aborted) throw error;
        if (attempt >= maxAttempts) throw new BulkDataError(`${url}: ${(error as Error).message}`);
        await this.wait(
          `${init.method ?? 'GET'} ${url} failed (${(error as Error).message})`,
          attempt,
          undefined,
          signal,
        );
        continue;
      }
      if (response.status === 401 && init.auth !== false && !renewedOn401) {
        // The token may have expired early or been revoked: a new one, once.
        await response.body?.cancel();
        this.token = undefined;
        renewedOn401 = true;
        attempt--;
        continue;
      }
      if ((response.status === 429 || response.status >= 500) && attempt < maxAttempts) {
        await response.body?.cancel();
        await this.wait(
          `${init.method ?? 'GET'} ${url} answered ${response.status}`,
          attempt,
          retryAfterMs(response.headers.get('retry-after'), Date.now()),
          signal,
        );
        continue;
      }
      return response;
    }
  }

  async wait(what: string, attempt: number, told?: number, signal = this.options.signal): Promise<void> {
    const ms =
      told ??
      backoffMs(
        attempt,
        this.options.retryBaseMs ?? 1000,
        this.options.maxBackoffMs ?? 60_000,
        Math.random(),
      );
    this.options.onRetry?.(what, ms);
    await sleep(ms, signal);
  }

  private async accessToken(signal: AbortSignal): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    const tokenUrl = (this.tokenUrl ??= await this.discoverTokenUrl(signal));
    const assertion = await signClientAssertion({
      clientId: this.options.clientId,
      tokenUrl,
      privateJwk: this.options.key,
      lifetimeSeconds: 300,
    });
    const response = await this.fetch(tokenUrl, {
      method: 'POST',
      auth: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(tokenRequestForm(assertion, this.options.scope)),
      signal,
    });
    const body = (await response.json().catch(() => ({}))) as {
      access_token?: string;
      expires_in?: number;
      error?: string;
      error_description?: string;
    };
    if (!response.ok || typeof body.access_token !== 'string')
      throw new BulkDataError(
        `the token endpoint ${tokenUrl} refused the client ${this.options.clientId} (${response.status}): ${body.error ?? ''} ${body.error_description ?? ''}`.trim(),
      );
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : 300) * 1000;
    // Renew a minute before expiry, or at half the lifetime of a short-lived token.
    this.token = {
      value: body.access_token,
      renewAt: Date.now() + Math.max(lifetimeMs / 2, lifetimeMs - 60_000),
    };
    return this.token.value;
  }

  private async discoverTokenUrl(signal: AbortSignal): Promise<string> {
    const url = new URL('.well-known/smart-configuration', withSlash(this.options.base)).toString();
    const response = await this.fetch(url, { auth: false, headers: { accept: 'application/json' }, signal });
    const body = (await response.json().catch(() => ({}))) as { token_endpoint?: unknown };
    if (!response.ok || typeof body.token_endpoint !== 'string')
      throw new BulkDataError(
        `${url} answered ${response.status} without a token_endpoint: pass --token-url`,
      );
    return new URL(body.token_endpoint, url).toString();
  }
}

export function withSlash(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}
