import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import {
  CLIENT_REGISTERED,
  CLIENT_REGISTRY_STREAM,
  type ClientKeyPair,
  type ClientRegisteredData,
  generateClientKeyPair,
  OWN_SCOPES,
  signClientAssertion,
  tokenRequestForm,
} from '@fa/access';
import { PostgresEventStore } from '@fa/event-store';

/** Every scope there is. */
export const ALL_SCOPES = ['system/*.cruds', ...OWN_SCOPES].join(' ');

export interface ServiceClient {
  clientId: string;
  keys: ClientKeyPair;
  /** An access token from the service at `origin` (its POST /auth/token), as a SMART backend client gets one. */
  token(origin: string, scope?: string): Promise<string>;
}

/**
 * A client registered in the database a service process (or a bench's) runs on, before or while it runs: the
 * ClientRegistered event appended to the registry stream, as `cli clients register` does through its handler.
 */
export async function registerServiceClient(
  pool: Pool,
  clientId = `client-${randomUUID().slice(0, 8)}`,
  scope = ALL_SCOPES,
  alg: 'ES384' | 'RS384' = 'ES384',
): Promise<ServiceClient> {
  const keys = await generateClientKeyPair(alg);
  const store = new PostgresEventStore(pool);
  await store.migrate();
  const data: ClientRegisteredData = {
    clientId,
    scopes: scope.split(' '),
    jwks: keys.publicJwks,
    by: 'testkit',
  };
  await store.append(CLIENT_REGISTRY_STREAM, [{ id: randomUUID(), type: CLIENT_REGISTERED, data }]);
  return {
    clientId,
    keys,
    token: async (origin, requested = scope) => {
      const tokenUrl = `${origin}/auth/token`;
      const assertion = await signClientAssertion({ clientId, tokenUrl, privateJwk: keys.privateJwk });
      const response = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(tokenRequestForm(assertion, requested)),
      });
      const body = (await response.json()) as { access_token?: string };
      if (!response.ok || !body.access_token)
        throw new Error(`token refused (${response.status}): ${JSON.stringify(body)}`);
      return body.access_token;
    },
  };
}
