import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { AuditConfig } from '@fa/platform';
import type { Anchor } from '../domain/anchor';

/** Where anchors go and what signs them (AUDIT_ANCHOR_DIR, the key in DATA_DIR, AUDIT_ANCHOR_INTERVAL). */
export type AuditSettings = AuditConfig;

export const ANCHOR_FILE = 'anchors.jsonl';

export interface AnchorKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** The Ed25519 signing key, created (mode 0600) on first use; a concurrent creator's key wins the race. */
export async function loadOrCreateAnchorKey(keyFile: string): Promise<AnchorKeys> {
  try {
    const privateKey = createPrivateKey(await fs.readFile(keyFile, 'utf8'));
    return { privateKey, publicKey: createPublicKey(privateKey) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  await fs.mkdir(path.dirname(keyFile), { recursive: true });
  try {
    await fs.writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return loadOrCreateAnchorKey(keyFile);
}

/** The key that verifies anchors; undefined when none was ever created (so no anchor can be trusted). */
export async function readAnchorPublicKey(keyFile: string): Promise<KeyObject | undefined> {
  try {
    return createPublicKey(createPrivateKey(await fs.readFile(keyFile, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Appends one anchor line and fsyncs it: the file is only ever appended to (O_APPEND), never rewritten. */
export async function appendAnchor(dir: string, anchor: Anchor): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const file = await fs.open(path.join(dir, ANCHOR_FILE), 'a', 0o640);
  try {
    await file.write(JSON.stringify(anchor) + '\n');
    await file.sync();
  } finally {
    await file.close();
  }
}

/** The anchor file's lines, numbered from 1; none when it does not exist yet. */
export async function readAnchorFile(dir: string): Promise<{ line: number; text: string }[]> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, ANCHOR_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .map((line, i) => ({ line: i + 1, text: line }))
    .filter((l) => l.text.trim() !== '');
}
