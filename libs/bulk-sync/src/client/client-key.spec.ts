import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { readClientKey } from './client-key';

describe('readClientKey', () => {
  it('reads what clients keygen writes, a bare JWK, and a PKCS#8 PEM with --kid and --alg', async () => {
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES384' };
    expect(await readClientKey(JSON.stringify({ privateJwk: jwk, publicJwks: { keys: [] } }))).toEqual(jwk);
    expect(await readClientKey(JSON.stringify(jwk))).toEqual(jwk);
    const pem = await exportPKCS8(privateKey);
    expect(await readClientKey(pem, { kid: 'k1', alg: 'ES384' })).toMatchObject({
      kid: 'k1',
      alg: 'ES384',
      d: jwk.d,
    });
  });

  it('says what is missing: a kid for a PEM, a private part, a usable alg', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS384', { extractable: true });
    await expect(readClientKey(await exportPKCS8(privateKey))).rejects.toThrow(/pass --kid/);
    await expect(
      readClientKey(JSON.stringify({ ...(await exportJWK(publicKey)), kid: 'k' })),
    ).rejects.toThrow(/not a private key/);
    await expect(
      readClientKey(JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'k', alg: 'RS256' })),
    ).rejects.toThrow(/RS384 or ES384/);
    await expect(readClientKey('not a key')).rejects.toThrow(/neither a JWK/);
  });
});
