import { makePrivateDirectory } from '@fa/platform';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type JWK,
  type KeyLike,
} from 'jose';

/** The algorithms our access tokens are signed with. */
export type ServerAlgorithm = 'ES256' | 'ES384' | 'RS384';
/** Ours when we make the key: ES256 signs and verifies several times faster than P-384 or RSA in Node. */
const GENERATED: ServerAlgorithm = 'ES256';

export interface SigningKey {
  readonly kid: string;
  readonly alg: ServerAlgorithm;
  readonly privateKey: KeyLike;
  readonly publicKey: KeyLike;
  readonly publicJwk: JWK;
  readonly createdAt: Date;
}

interface StoredKey {
  kid: string;
  alg: ServerAlgorithm;
  createdAt: string;
  privateJwk: JWK;
}

/** Keys kept after a rotation, so tokens signed by the previous key verify until they expire. */
const KEPT_KEYS = 3;
const RELOAD_INTERVAL_MS = 1000;

/**
 * The server's access-token signing keys. From AUTH_SIGNING_KEY (one PKCS#8 PEM key, rotated by changing the
 * variable), from DATA_DIR/auth/signing-keys.json (created on first use, mode 0600; a new ES256 key replaces
 * the current one when it is older than AUTH_KEY_ROTATION, the previous ones still verify), or in memory
 * (tests and benches). Several processes on one DATA_DIR share the file: a token signed by a key this process
 * has not seen makes it read the file again.
 */
export class SigningKeyring {
  private keys: SigningKey[] = [];
  private loadedAtMs = 0;
  private loading?: Promise<void>;

  private constructor(
    private readonly source:
      { kind: 'memory' } | { kind: 'pem'; pem: string } | { kind: 'file'; file: string; rotationMs: number },
  ) {}

  static inMemory(): SigningKeyring {
    return new SigningKeyring({ kind: 'memory' });
  }

  /** AUTH_SIGNING_KEY (PEM text, or the path of a file holding it), else DATA_DIR/auth/signing-keys.json. */
  static fromConfig(config: { signingKey?: string; keyRotationMs: number }, dataDir: string): SigningKeyring {
    if (config.signingKey) {
      const pem = config.signingKey.includes('-----BEGIN')
        ? config.signingKey
        : readFileSync(path.resolve(config.signingKey), 'utf8');
      if (!pem.includes('-----BEGIN PRIVATE KEY-----'))
        throw new Error(
          'AUTH_SIGNING_KEY must be a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----) or its file',
        );
      return new SigningKeyring({ kind: 'pem', pem });
    }
    return new SigningKeyring({
      kind: 'file',
      file: path.join(dataDir, 'auth', 'signing-keys.json'),
      rotationMs: config.keyRotationMs,
    });
  }

  /** The key to sign with now (rotated first when due). */
  async signingKey(now = new Date()): Promise<SigningKey> {
    if (this.keys.length === 0) await this.load();
    let newest = this.keys[this.keys.length - 1];
    if (
      !newest ||
      (this.source.kind === 'file' && now.getTime() - newest.createdAt.getTime() >= this.source.rotationMs)
    ) {
      await this.load(true);
      newest = this.keys[this.keys.length - 1];
      if (
        !newest ||
        (this.source.kind === 'file' && now.getTime() - newest.createdAt.getTime() >= this.source.rotationMs)
      )
        newest = await this.rotate(now);
    }
    return newest;
  }

  /** The public key of a kid we issued with, re-reading the key file (at most once a second) when unknown. */
  async verificationKey(kid: string | undefined): Promise<KeyLike | undefined> {
    const find = () => this.keys.find((k) => k.kid === kid)?.publicKey;
    if (find() || this.source.kind !== 'file' || Date.now() - this.loadedAtMs < RELOAD_INTERVAL_MS)
      return find();
    await this.load(true);
    return find();
  }

  /** Every key that still verifies, as a public JWKS (served at /auth/jwks). */
  async publicJwks(): Promise<{ keys: JWK[] }> {
    if (this.keys.length === 0) await this.signingKey();
    return { keys: this.keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' })) };
  }

  private load(force = false): Promise<void> {
    if (!force && this.keys.length > 0) return Promise.resolve();
    this.loading ??= this.read().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async read(): Promise<void> {
    this.loadedAtMs = Date.now();
    if (this.source.kind === 'memory') return;
    if (this.source.kind === 'pem') {
      if (this.keys.length > 0) return;
      const pem = this.source.pem;
      let alg: ServerAlgorithm | undefined;
      let privateKey: KeyLike | undefined;
      for (const candidate of ['ES256', 'ES384', 'RS384'] as const) {
        privateKey = await importPKCS8(pem, candidate, { extractable: true }).catch(() => undefined);
        const jwk = privateKey && (await exportJWK(privateKey));
        if (jwk && (candidate === 'RS384' ? jwk.kty === 'RSA' : jwk.crv === `P-${candidate.slice(2)}`)) {
          alg = candidate;
          break;
        }
      }
      if (!alg || !privateKey)
        throw new Error('AUTH_SIGNING_KEY: not an EC P-256, EC P-384 or RSA private key');
      this.keys = [
        await toSigningKey({
          alg,
          createdAt: new Date(0).toISOString(),
          privateJwk: await exportJWK(privateKey),
        }),
      ];
      return;
    }
    let text: string;
    try {
      text = await fs.readFile(this.source.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const stored = (JSON.parse(text) as { keys: StoredKey[] }).keys;
    this.keys = await Promise.all(stored.map((key) => toSigningKey(key)));
  }

  private async rotate(now: Date): Promise<SigningKey> {
    const { privateKey } = await generateKeyPair(GENERATED, { extractable: true });
    const key = await toSigningKey({
      alg: GENERATED,
      createdAt: now.toISOString(),
      privateJwk: await exportJWK(privateKey),
    });
    this.keys = [...this.keys, key].slice(-KEPT_KEYS);
    if (this.source.kind === 'file') {
      const file = this.source.file;
      await makePrivateDirectory(path.dirname(file));
      const stored: StoredKey[] = await Promise.all(
        this.keys.map(async (k) => ({
          kid: k.kid,
          alg: k.alg,
          createdAt: k.createdAt.toISOString(),
          privateJwk: await exportJWK(k.privateKey),
        })),
      );
      // Written whole and renamed into place: a reader never sees half a file.
      const temporary = `${file}.${process.pid}.tmp`;
      await fs.writeFile(temporary, JSON.stringify({ keys: stored }, null, 2) + '\n', { mode: 0o600 });
      await fs.rename(temporary, file);
    }
    return key;
  }
}

async function toSigningKey(stored: Omit<StoredKey, 'kid'> & { kid?: string }): Promise<SigningKey> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = stored.privateJwk;
  const kid = stored.kid ?? (await calculateJwkThumbprint(publicJwk));
  return {
    kid,
    alg: stored.alg,
    privateKey: (await importJWK(stored.privateJwk, stored.alg)) as KeyLike,
    publicKey: (await importJWK(publicJwk, stored.alg)) as KeyLike,
    publicJwk,
    createdAt: new Date(stored.createdAt),
  };
}
