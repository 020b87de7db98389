import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AccessTokens } from './access-tokens';
import { SigningKeyring } from './signing-keyring';

describe('SigningKeyring (files in a temporary DATA_DIR)', () => {
  let dataDir: string;
  beforeEach(async () => (dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-keys-'))));
  afterEach(() => fs.rm(dataDir, { recursive: true, force: true }));

  it('keeps its key in DATA_DIR/auth (0600), shared by every process on it, and rotates when due', async () => {
    const first = SigningKeyring.fromConfig({ keyRotationMs: 60_000 }, dataDir);
    const key = await first.signingKey();
    const file = path.join(dataDir, 'auth', 'signing-keys.json');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const other = SigningKeyring.fromConfig({ keyRotationMs: 60_000 }, dataDir);
    expect((await other.signingKey()).kid).toBe(key.kid);
    const tokens = new AccessTokens(first, 300);
    const { token } = await tokens.issue('c', ['system/*.rs'], 'https://x/fhir');

    const rotated = await first.signingKey(new Date(Date.now() + 61_000));
    expect(rotated.kid).not.toBe(key.kid);
    // The other process verifies tokens of the new key (re-reading the file) and of the old one.
    const later = await new AccessTokens(first, 300).issue('c', ['system/*.rs'], 'https://x/fhir');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const verifier = new AccessTokens(other, 300);
    await expect(verifier.verify(later.token)).resolves.toMatchObject({
      clientId: 'c',
      scopes: ['system/*.rs'],
    });
    await expect(verifier.verify(token)).resolves.toMatchObject({ clientId: 'c' });
    expect((await other.publicJwks()).keys.map((k) => k.kid)).toEqual([key.kid, rotated.kid]);
  });

  it.each([
    ['EC P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'ES384'],
    ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'],
    ['RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RS384'],
  ])('signs with AUTH_SIGNING_KEY (%s PEM, text or file)', async (_name, make, alg) => {
    const pem = make().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(
      (await SigningKeyring.fromConfig({ signingKey: pem, keyRotationMs: 1 }, dataDir).signingKey()).alg,
    ).toBe(alg);
    const file = path.join(dataDir, 'key.pem');
    await fs.writeFile(file, pem);
    const keyring = SigningKeyring.fromConfig({ signingKey: file, keyRotationMs: 1 }, dataDir);
    const tokens = new AccessTokens(keyring, 60);
    const { token } = await tokens.issue('c', ['system/Patient.r'], 'https://x/fhir');
    await expect(tokens.verify(token)).resolves.toMatchObject({ scopes: ['system/Patient.r'] });
  });

  it('refuses an AUTH_SIGNING_KEY that is not a PKCS#8 private key', () => {
    expect(() =>
      SigningKeyring.fromConfig({ signingKey: '-----BEGIN PUBLIC KEY-----\nx', keyRotationMs: 1 }, dataDir),
    ).toThrow(/PKCS#8 PEM private key/);
  });
});
