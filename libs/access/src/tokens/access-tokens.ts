import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { SigningKeyring } from './signing-keyring';

/** Who holds a valid access token: its client and the scopes granted (SMART v2 form). */
export interface TokenHolder {
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

export class InvalidAccessTokenError extends Error {
  override readonly name = 'InvalidAccessTokenError';
}

/** JWT access tokens (RFC 9068 `at+jwt`) we issue and check; no other issuer's tokens are accepted. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const ACCESS_TOKEN_ISSUER = 'urn:fhir-aggregator';
const CACHE_LIMIT = 10_000;

export class AccessTokens {
  /** Tokens already verified, until they expire: a signature check per token, not per request. */
  private readonly verified = new Map<string, TokenHolder>();

  constructor(
    private readonly keyring: SigningKeyring,
    readonly lifetimeSeconds: number,
  ) {}

  async issue(
    clientId: string,
    scopes: readonly string[],
    audience: string,
  ): Promise<{ token: string; expiresIn: number }> {
    const key = await this.keyring.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ scope: scopes.join(' '), client_id: clientId })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(ACCESS_TOKEN_ISSUER)
      .setSubject(clientId)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
    return { token, expiresIn: this.lifetimeSeconds };
  }

  /** The holder of a token we issued that has not expired, or InvalidAccessTokenError saying why not. */
  async verify(token: string): Promise<TokenHolder> {
    const nowSeconds = Date.now() / 1000;
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt > nowSeconds) return cached;
      this.verified.delete(token);
      throw new InvalidAccessTokenError('the access token expired; obtain a new one at POST /auth/token');
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = await this.keyring.verificationKey(header.kid);
          if (!key)
            throw new InvalidAccessTokenError('the access token was not signed by a key of this server');
          return key;
        },
        {
          algorithms: ['ES256', 'ES384', 'RS384'],
          issuer: ACCESS_TOKEN_ISSUER,
          typ: ACCESS_TOKEN_TYPE,
          requiredClaims: ['exp', 'sub'],
        },
      ));
    } catch (error) {
      if (error instanceof InvalidAccessTokenError) throw error;
      if (error instanceof joseErrors.JWTExpired)
        throw new InvalidAccessTokenError('the access token expired; obtain a new one at POST /auth/token');
      if (error instanceof joseErrors.JOSEError)
        throw new InvalidAccessTokenError(`the access token is not valid (${error.code})`);
      throw error;
    }
    if (typeof payload.scope !== 'string' || typeof payload.sub !== 'string')
      throw new InvalidAccessTokenError('the access token has no scope');
    const holder: TokenHolder = {
      clientId: payload.sub,
      scopes: payload.scope.split(' ').filter(Boolean),
      expiresAt: payload.exp as number,
    };
    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    this.verified.set(token, holder);
    return holder;
  }
}
