import { exportJWK, importPKCS8, type JWK } from 'jose';

export type ClientJwk = JWK & { kid: string; alg: 'RS384' | 'ES384' };

/**
 * The client's private key from what `cli clients keygen` writes ({ privateJwk, publicJwks }), a bare private
 * JWK, or a PKCS#8 PEM (then kid and alg come from the options: a PEM names neither).
 */
export async function readClientKey(
  text: string,
  options: { kid?: string; alg?: string } = {},
): Promise<ClientJwk> {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    if (!/-----BEGIN PRIVATE KEY-----/.test(trimmed))
      throw new Error(
        'the PEM key must be PKCS#8 ("BEGIN PRIVATE KEY"); convert it with openssl pkcs8 -topk8',
      );
    const alg = options.alg ?? 'RS384';
    if (alg !== 'RS384' && alg !== 'ES384') throw new Error(`--alg ${alg}: RS384 or ES384`);
    if (!options.kid)
      throw new Error('a PEM key names no kid: pass --kid (the kid of its public key in the JWKS)');
    const key = await importPKCS8(trimmed, alg, { extractable: true });
    return { ...(await exportJWK(key)), kid: options.kid, alg };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (error) {
    throw new Error(`the key is neither a JWK (JSON) nor a PEM: ${(error as Error).message}`);
  }
  const jwk = ((parsed as { privateJwk?: unknown }).privateJwk ?? parsed) as Partial<ClientJwk>;
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.d !== 'string')
    throw new Error('the JWK is not a private key (no "d")');
  const alg = jwk.alg ?? options.alg;
  if (alg !== 'RS384' && alg !== 'ES384') throw new Error(`the key's alg ${String(alg)}: RS384 or ES384`);
  const kid = jwk.kid ?? options.kid;
  if (!kid) throw new Error('the JWK has no kid: pass --kid');
  return { ...jwk, kid, alg } as ClientJwk;
}
