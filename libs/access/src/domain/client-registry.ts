import {
  AccessEvent,
  CLIENT_KEYS_ROTATED,
  CLIENT_REGISTERED,
  CLIENT_REVOKED,
  PublicJwk,
  PublicJwks,
} from '../events/access-event';

/** The assertion algorithms a client key may use (SMART Backend Services requires RS384 and ES384). */
export const ASSERTION_ALGORITHMS = ['RS384', 'ES384'] as const;

export const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;

export interface RegisteredClient {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly jwks: PublicJwks;
  readonly jwksUrl?: string;
  readonly registeredAt: Date;
  readonly keysRotatedAt?: Date;
  readonly revokedAt?: Date;
}

/** The registry folded up to some instant: clients by id, and the stream revision it was folded to. */
export interface RegistryState {
  readonly clients: ReadonlyMap<string, RegisteredClient>;
  readonly revision: number;
}

export const EMPTY_REGISTRY: RegistryState = { clients: new Map(), revision: -1 };

export type RegistryCommand =
  | { kind: 'register'; clientId: string; scopes: string[]; jwks: unknown; jwksUrl?: string; by: string }
  | { kind: 'rotate-keys'; clientId: string; jwks: unknown; jwksUrl?: string; by: string }
  | { kind: 'revoke'; clientId: string; reason?: string; by: string };

export class ClientRegistryRejected extends Error {
  override readonly name = 'ClientRegistryRejected';
  constructor(
    readonly reason: 'invalid' | 'unknown-client' | 'already-registered' | 'revoked',
    message: string,
  ) {
    super(message);
  }
}

/** The events a registry command makes, or ClientRegistryRejected saying why not. Scopes are already parsed. */
export function decide(state: RegistryState, command: RegistryCommand): AccessEvent[] {
  if (!CLIENT_ID_PATTERN.test(command.clientId))
    throw new ClientRegistryRejected(
      'invalid',
      `client id ${JSON.stringify(command.clientId.slice(0, 64))} must be 1-128 of letters, digits, . _ ~ - (starting with a letter or digit)`,
    );
  const existing = state.clients.get(command.clientId);
  if (command.kind === 'register') {
    if (existing?.revokedAt)
      throw new ClientRegistryRejected(
        'revoked',
        `client ${command.clientId} was revoked at ${existing.revokedAt.toISOString()}; a revoked id is never reused`,
      );
    if (existing)
      throw new ClientRegistryRejected('already-registered', `client ${command.clientId} is registered`);
    if (command.scopes.length === 0)
      throw new ClientRegistryRejected('invalid', 'a client needs at least one scope');
    return [
      {
        type: CLIENT_REGISTERED,
        data: {
          clientId: command.clientId,
          scopes: command.scopes,
          jwks: validJwks(command.jwks),
          ...(command.jwksUrl ? { jwksUrl: validJwksUrl(command.jwksUrl) } : {}),
          by: command.by,
        },
      },
    ];
  }
  if (!existing)
    throw new ClientRegistryRejected('unknown-client', `client ${command.clientId} is not registered`);
  if (existing.revokedAt)
    throw new ClientRegistryRejected(
      'revoked',
      `client ${command.clientId} was revoked at ${existing.revokedAt.toISOString()}`,
    );
  if (command.kind === 'rotate-keys') {
    return [
      {
        type: CLIENT_KEYS_ROTATED,
        data: {
          clientId: command.clientId,
          jwks: validJwks(command.jwks),
          ...(command.jwksUrl ? { jwksUrl: validJwksUrl(command.jwksUrl) } : {}),
          by: command.by,
        },
      },
    ];
  }
  return [
    {
      type: CLIENT_REVOKED,
      data: {
        clientId: command.clientId,
        ...(command.reason ? { reason: command.reason } : {}),
        by: command.by,
      },
    },
  ];
}

/** Folds one recorded registry event into the state (`at`: its record time). */
export function evolve(state: RegistryState, event: AccessEvent, at: Date, revision: number): RegistryState {
  const clients = new Map(state.clients);
  const existing = clients.get(event.data.clientId);
  switch (event.type) {
    case CLIENT_REGISTERED:
      clients.set(event.data.clientId, {
        clientId: event.data.clientId,
        scopes: event.data.scopes,
        jwks: event.data.jwks,
        jwksUrl: event.data.jwksUrl,
        registeredAt: at,
      });
      break;
    case CLIENT_KEYS_ROTATED:
      if (existing)
        clients.set(event.data.clientId, {
          ...existing,
          jwks: event.data.jwks,
          jwksUrl: event.data.jwksUrl,
          keysRotatedAt: at,
        });
      break;
    case CLIENT_REVOKED:
      if (existing) clients.set(event.data.clientId, { ...existing, revokedAt: at });
      break;
  }
  return { clients, revision };
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/** A JWKS of public RSA / EC keys, each with a unique `kid` and, if named, an allowed `alg`. */
export function validJwks(value: unknown): PublicJwks {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new ClientRegistryRejected('invalid', 'the JWKS must be {"keys": [...]} with at least one key');
  const kids = new Set<string>();
  for (const [index, key] of keys.entries()) {
    const jwk = key as Partial<PublicJwk> | null;
    const where = `JWKS key ${index}`;
    if (!jwk || typeof jwk !== 'object')
      throw new ClientRegistryRejected('invalid', `${where} is not an object`);
    if (typeof jwk.kid !== 'string' || jwk.kid.length === 0 || jwk.kid.length > 256)
      throw new ClientRegistryRejected('invalid', `${where} has no kid (assertions name their key by kid)`);
    if (kids.has(jwk.kid))
      throw new ClientRegistryRejected('invalid', `${where}: kid ${jwk.kid} is given twice`);
    kids.add(jwk.kid);
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC')
      throw new ClientRegistryRejected(
        'invalid',
        `${where} (${jwk.kid}): kty must be RSA or EC, got ${String(jwk.kty)}`,
      );
    if (PRIVATE_MEMBERS.some((m) => m in jwk))
      throw new ClientRegistryRejected(
        'invalid',
        `${where} (${jwk.kid}) holds private key material: register the public key only`,
      );
    if (jwk.alg !== undefined && !(ASSERTION_ALGORITHMS as readonly string[]).includes(jwk.alg))
      throw new ClientRegistryRejected(
        'invalid',
        `${where} (${jwk.kid}): alg ${String(jwk.alg)} is not one of ${ASSERTION_ALGORITHMS.join(', ')}`,
      );
    if (jwk.kty === 'EC' && jwk.crv !== 'P-384')
      throw new ClientRegistryRejected(
        'invalid',
        `${where} (${jwk.kid}): an EC key must be on P-384 (ES384)`,
      );
  }
  return { keys: keys as PublicJwk[] };
}

function validJwksUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ClientRegistryRejected(
      'invalid',
      `jwks url ${JSON.stringify(value.slice(0, 100))} is not a URL`,
    );
  }
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && ['localhost', '127.0.0.1'].includes(url.hostname))
  )
    throw new ClientRegistryRejected('invalid', 'a jwks url must be https (http only on localhost)');
  return url.toString();
}

/** The key an assertion names: the alg it may verify with, or why none fits. */
export function keyFor(client: RegisteredClient, kid: string, alg: string): PublicJwk | string {
  const key = client.jwks.keys.find((k) => k.kid === kid);
  if (!key)
    return `client ${client.clientId} has no registered key with kid ${JSON.stringify(kid.slice(0, 64))}`;
  const kty = alg.startsWith('ES') ? 'EC' : 'RSA';
  if (key.kty !== kty || (key.alg !== undefined && key.alg !== alg))
    return `key ${kid} of client ${client.clientId} is a ${key.kty}${key.alg ? ` ${key.alg}` : ''} key; the assertion says ${alg}`;
  return key;
}
