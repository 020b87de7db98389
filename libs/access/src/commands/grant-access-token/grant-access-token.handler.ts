import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  importJWK,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type KeyLike,
} from 'jose';
import { isR4ResourceType } from '@fa/fhir';
import { ClientRegistryReader } from '../../client-registry.reader';
import { ASSERTION_ALGORITHMS, keyFor, RegisteredClient } from '../../domain/client-registry';
import { notCovered, parseScopes, Scope, ScopeError } from '../../domain/scopes';
import { AccessTokens } from '../../tokens/access-tokens';
import { AssertionReplayGuard } from '../../tokens/assertion-replay';
import {
  AccessTokenResponse,
  GrantAccessTokenCommand,
  JWT_BEARER_ASSERTION,
  TokenRequestError,
} from './grant-access-token.command';

/** SMART Backend Services: a client assertion expires no more than five minutes after it is made. */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 10;

/**
 * Validates a client_credentials request as RFC 7523 and SMART Backend Services require, in the order a client
 * can best act on: the request's form, the assertion's header (algorithm, kid, jku), the client it names, the
 * signature by that client's key, the claims (iss = sub, aud, exp, iat, jti once), then the scopes.
 */
@CommandHandler(GrantAccessTokenCommand)
export class GrantAccessTokenHandler implements ICommandHandler<
  GrantAccessTokenCommand,
  AccessTokenResponse
> {
  private readonly remoteKeys = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  /** Imported registered keys by their JWK text: a key is parsed once, not per grant. */
  private readonly imported = new Map<string, Promise<KeyLike | Uint8Array>>();

  constructor(
    private readonly registry: ClientRegistryReader,
    private readonly replay: AssertionReplayGuard,
    private readonly tokens: AccessTokens,
  ) {}

  async execute({ form, tokenUrl, audience }: GrantAccessTokenCommand): Promise<AccessTokenResponse> {
    const grantType = field(form, 'grant_type');
    if (grantType !== 'client_credentials')
      throw new TokenRequestError(
        'unsupported_grant_type',
        `grant_type ${JSON.stringify(grantType.slice(0, 64))} is not supported: use client_credentials`,
      );
    const assertionType = field(form, 'client_assertion_type');
    if (assertionType !== JWT_BEARER_ASSERTION)
      throw new TokenRequestError('invalid_request', `client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
    const assertion = field(form, 'client_assertion');
    const requested = requestedScopes(field(form, 'scope'));

    const { alg, kid, jku } = assertionHeader(assertion);
    const claimed = unverifiedClaims(assertion);
    const client = await this.client(claimed);
    if (jku !== undefined && jku !== client.jwksUrl)
      throw new TokenRequestError(
        'invalid_client',
        `jku ${JSON.stringify(jku.slice(0, 200))} is not the JWKS URL registered for client ${client.clientId}`,
        client.clientId,
      );
    const payload = await this.verified(assertion, client, alg, kid, tokenUrl);
    await this.checkLifetime(payload, client.clientId);

    const registered = parseScopes(client.scopes.join(' '), isR4ResourceType);
    const beyond = notCovered(registered, requested);
    if (beyond.length > 0)
      throw new TokenRequestError(
        'invalid_scope',
        `${beyond.map((s) => s.text).join(' ')} ${beyond.length > 1 ? 'are' : 'is'} beyond the scopes registered for client ${client.clientId} (${client.scopes.join(' ')})`,
        client.clientId,
      );
    const scopes = requested.map((s) => s.text);
    const { token, expiresIn } = await this.tokens.issue(client.clientId, scopes, audience);
    return { access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: scopes.join(' ') };
  }

  private async client(claimed: JWTPayload): Promise<RegisteredClient> {
    const { iss, sub } = claimed;
    if (typeof iss !== 'string' || typeof sub !== 'string' || iss !== sub)
      throw new TokenRequestError(
        'invalid_client',
        `iss (${JSON.stringify(iss)}) and sub (${JSON.stringify(sub)}) must both be the client id`,
      );
    const client = (await this.registry.current()).clients.get(iss);
    if (!client)
      throw new TokenRequestError(
        'invalid_client',
        `client ${JSON.stringify(iss.slice(0, 128))} is not registered`,
      );
    if (client.revokedAt)
      throw new TokenRequestError(
        'invalid_client',
        `client ${iss} was revoked at ${client.revokedAt.toISOString()}`,
        iss,
      );
    return client;
  }

  private async verified(
    assertion: string,
    client: RegisteredClient,
    alg: string,
    kid: string,
    tokenUrl: string,
  ): Promise<JWTPayload> {
    const clientId = client.clientId;
    const registered = keyFor(client, kid, alg);
    let key: KeyLike | Uint8Array | ReturnType<typeof createRemoteJWKSet>;
    if (typeof registered !== 'string') key = await this.importKey(registered, alg);
    else if (client.jwksUrl) key = this.remote(client.jwksUrl);
    else throw new TokenRequestError('invalid_client', registered, clientId);
    try {
      const { payload } = await jwtVerify(assertion, key as KeyLike, {
        algorithms: [alg],
        issuer: clientId,
        subject: clientId,
        audience: tokenUrl,
        requiredClaims: ['exp', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      return payload;
    } catch (error) {
      throw new TokenRequestError('invalid_client', assertionProblem(error, kid, tokenUrl), clientId);
    }
  }

  private async checkLifetime(payload: JWTPayload, clientId: string): Promise<void> {
    const now = Date.now() / 1000;
    const exp = payload.exp!;
    if (
      payload.iat !== undefined &&
      (typeof payload.iat !== 'number' || payload.iat > now + CLOCK_TOLERANCE_SECONDS)
    )
      throw new TokenRequestError(
        'invalid_client',
        `iat (${String(payload.iat)}) is in the future`,
        clientId,
      );
    if (exp - now > MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS)
      throw new TokenRequestError(
        'invalid_client',
        `exp is ${Math.round(exp - now)} s ahead: an assertion may be valid for at most ${MAX_ASSERTION_LIFETIME_SECONDS} s`,
        clientId,
      );
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256)
      throw new TokenRequestError('invalid_client', 'jti must be a string of 1-256 characters', clientId);
    if (!(await this.replay.firstUse(clientId, payload.jti, new Date(exp * 1000))))
      throw new TokenRequestError(
        'invalid_client',
        `jti ${JSON.stringify(payload.jti.slice(0, 64))} was already used by client ${clientId}: every assertion needs a new jti`,
        clientId,
      );
  }

  private importKey(jwk: JWK, alg: string): Promise<KeyLike | Uint8Array> {
    const text = `${alg}|${JSON.stringify(jwk)}`;
    let key = this.imported.get(text);
    if (!key) {
      if (this.imported.size > 1000) this.imported.clear();
      this.imported.set(text, (key = importJWK({ ...jwk, alg }, alg)));
    }
    return key;
  }

  private remote(url: string): ReturnType<typeof createRemoteJWKSet> {
    let set = this.remoteKeys.get(url);
    if (!set) this.remoteKeys.set(url, (set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000 })));
    return set;
  }
}

function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  if (value === undefined || value === '')
    throw new TokenRequestError('invalid_request', `${name} is missing`);
  if (typeof value !== 'string') throw new TokenRequestError('invalid_request', `${name} must be given once`);
  return value;
}

function requestedScopes(text: string): Scope[] {
  try {
    return parseScopes(text, isR4ResourceType);
  } catch (error) {
    if (error instanceof ScopeError) throw new TokenRequestError('invalid_scope', error.message);
    throw error;
  }
}

function assertionHeader(assertion: string): { alg: string; kid: string; jku?: string } {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw new TokenRequestError('invalid_client', 'client_assertion is not a JWT (compact JWS)');
  }
  const alg = String(header.alg);
  if (!(ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) {
    const why =
      alg === 'none'
        ? 'an unsigned assertion (alg none) is refused'
        : /^HS/.test(alg)
          ? `an HMAC-signed assertion (${alg}) is refused`
          : `alg ${JSON.stringify(alg.slice(0, 32))} is not allowed`;
    throw new TokenRequestError('invalid_client', `${why}: sign with ${ASSERTION_ALGORITHMS.join(' or ')}`);
  }
  if (typeof header.kid !== 'string' || header.kid === '')
    throw new TokenRequestError('invalid_client', 'the assertion header has no kid naming the signing key');
  return { alg, kid: header.kid, jku: typeof header.jku === 'string' ? header.jku : undefined };
}

function unverifiedClaims(assertion: string): JWTPayload {
  try {
    return decodeJwt(assertion);
  } catch {
    throw new TokenRequestError('invalid_client', 'the assertion payload is not a JSON object of claims');
  }
}

function assertionProblem(error: unknown, kid: string, tokenUrl: string): string {
  if (error instanceof joseErrors.JWTExpired)
    return `the assertion expired (exp ${String(error.payload.exp)})`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return `the assertion's signature does not verify with the registered key ${kid}`;
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return `aud must be the token endpoint URL ${tokenUrl}`;
    if (error.claim === 'iat') return 'iat is in the future';
    if (error.claim === 'nbf') return 'nbf is in the future';
    return `claim ${error.claim}: ${error.reason === 'missing' ? 'missing' : error.message}`;
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return `no key with kid ${kid} at the registered JWKS URL`;
  if (error instanceof joseErrors.JOSEError) return `the assertion is not valid (${error.code})`;
  return 'the assertion could not be verified';
}
