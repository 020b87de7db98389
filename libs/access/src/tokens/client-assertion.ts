import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, type KeyLike, SignJWT } from 'jose';
import { JWT_BEARER_ASSERTION } from '../commands/grant-access-token/grant-access-token.command';
import type { PublicJwk, PublicJwks } from '../events/access-event';

/** A client's key pair as the demo and `cli clients keygen` write it: the private JWK (with kid and alg). */
export interface ClientKeyPair {
  privateJwk: JWK & { kid: string; alg: 'RS384' | 'ES384' };
  publicJwks: PublicJwks;
}

export async function generateClientKeyPair(
  alg: 'RS384' | 'ES384' = 'RS384',
  kid = randomUUID(),
): Promise<ClientKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } as PublicJwk;
  return { privateJwk, publicJwks: { keys: [publicJwk] } };
}

/**
 * A SMART Backend Services client assertion, as SMART's bulk-data-client makes it: iss = sub = the client id,
 * aud = the token URL, a new jti, exp five minutes ahead, signed with the client's key named by kid.
 */
export async function signClientAssertion(options: {
  clientId: string;
  tokenUrl: string;
  privateJwk: JWK & { kid: string; alg: string };
  lifetimeSeconds?: number;
}): Promise<string> {
  const key = (await importJWK(options.privateJwk, options.privateJwk.alg)) as KeyLike;
  return new SignJWT({})
    .setProtectedHeader({ alg: options.privateJwk.alg, kid: options.privateJwk.kid, typ: 'JWT' })
    .setIssuer(options.clientId)
    .setSubject(options.clientId)
    .setAudience(options.tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${options.lifetimeSeconds ?? 300}s`)
    .sign(key);
}

/** The form of a client_credentials token request carrying the assertion. */
export function tokenRequestForm(assertion: string, scope: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: JWT_BEARER_ASSERTION,
    client_assertion: assertion,
    scope,
  };
}
