import { createHash, KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from '@fa/fhir';

/**
 * A signed checkpoint of the chain head, written outside the database (one JSON line in an append-only file).
 * `chain` names the audit log it belongs to (a database's audit.chain id), so one anchor directory can serve
 * several databases; `key` names the signing key (the first 16 hex digits of SHA-256 of its public SPKI).
 */
export interface Anchor {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  readonly key: string;
  /** Ed25519 signature (base64url) over the canonical JSON of the other members. */
  readonly sig: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function payload(anchor: Omit<Anchor, 'sig'>): Buffer {
  const { chain, seq, hash, at, key } = anchor;
  return Buffer.from(canonicalJson({ chain, seq, hash, at, key }));
}

export function signAnchor(
  fields: Omit<Anchor, 'sig' | 'key'>,
  privateKey: KeyObject,
  publicKey: KeyObject,
): Anchor {
  const unsigned = { ...fields, key: keyIdOf(publicKey) };
  return { ...unsigned, sig: sign(null, payload(unsigned), privateKey).toString('base64url') };
}

/** An anchor line as read back: the anchor, or why it cannot be trusted. */
export type AnchorLine = { line: number; anchor: Anchor } | { line: number; invalid: string };

/** Parses and checks one line of an anchor file against the known public key. */
export function readAnchorLine(text: string, line: number, publicKey: KeyObject): AnchorLine {
  let value: Partial<Anchor>;
  try {
    value = JSON.parse(text) as Partial<Anchor>;
  } catch {
    return { line, invalid: 'not JSON' };
  }
  const { chain, seq, hash, at, key, sig } = value;
  if (
    typeof chain !== 'string' ||
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    typeof hash !== 'string' ||
    typeof at !== 'string' ||
    typeof key !== 'string' ||
    typeof sig !== 'string'
  )
    return { line, invalid: 'not an anchor (chain, seq, hash, at, key, sig)' };
  const anchor: Anchor = { chain, seq, hash, at, key, sig };
  if (key !== keyIdOf(publicKey)) return { line, invalid: `signed by unknown key ${key}` };
  if (!verify(null, payload(anchor), publicKey, Buffer.from(sig, 'base64url')))
    return { line, invalid: 'signature does not verify' };
  return { line, anchor };
}
