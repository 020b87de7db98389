/**
 * The client registry's events, all in one stream (`OAuthClient-registry`): a registry holds tens of clients
 * and changes rarely, so one stream gives optimistic concurrency over the whole registry and a fold of it
 * answers "who could read what" as of any instant. Keys are public keys only.
 */
export const CLIENT_REGISTRY_STREAM_PREFIX = 'OAuthClient-';
export const CLIENT_REGISTRY_STREAM = `${CLIENT_REGISTRY_STREAM_PREFIX}registry`;

export const CLIENT_REGISTERED = 'ClientRegistered';
export const CLIENT_KEYS_ROTATED = 'ClientKeysRotated';
export const CLIENT_REVOKED = 'ClientRevoked';

/** A JSON Web Key Set of public keys, each with a `kid`. */
export interface PublicJwks {
  keys: PublicJwk[];
}
export interface PublicJwk {
  kty: string;
  kid: string;
  alg?: string;
  [member: string]: unknown;
}

export interface ClientRegisteredData {
  clientId: string;
  /** Allowed scopes, SMART v2 form. */
  scopes: string[];
  jwks: PublicJwks;
  /** A `jku` the client may name in its assertions (its keys are then fetched from there too). */
  jwksUrl?: string;
  /** Who registered it (the CLI's user, or the admin endpoint's client). */
  by: string;
}
export interface ClientKeysRotatedData {
  clientId: string;
  jwks: PublicJwks;
  jwksUrl?: string;
  by: string;
}
export interface ClientRevokedData {
  clientId: string;
  reason?: string;
  by: string;
}

export type AccessEvent =
  | { type: typeof CLIENT_REGISTERED; data: ClientRegisteredData }
  | { type: typeof CLIENT_KEYS_ROTATED; data: ClientKeysRotatedData }
  | { type: typeof CLIENT_REVOKED; data: ClientRevokedData };

const TYPES: ReadonlySet<string> = new Set([CLIENT_REGISTERED, CLIENT_KEYS_ROTATED, CLIENT_REVOKED]);

export function asAccessEvent(event: { type: string; data: unknown }): AccessEvent | undefined {
  return TYPES.has(event.type) ? (event as AccessEvent) : undefined;
}
