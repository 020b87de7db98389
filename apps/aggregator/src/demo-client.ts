import { makePrivateDirectory } from '@fa/platform';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ChangeClientRegistryCommand,
  ClientKeyPair,
  ClientRegistryReader,
  generateClientKeyPair,
  GrantAccessTokenCommand,
  signClientAssertion,
  tokenRequestForm,
} from '@fa/access';

export const DEMO_CLIENT_ID = 'demo';
export const DEMO_SCOPE =
  'system/*.rs system/fhir-aggregator.admin system/fhir-aggregator.mdm system/fhir-aggregator.review system/fhir-aggregator.analytics';

/**
 * `npm run demo`: a client "demo" whose private key is kept in DATA_DIR/demo-client/ (made on first run, mode
 * 0600), registered if it is not yet, and a first access token for it.
 */
export async function demoClientToken(
  app: INestApplication,
  dataDir: string,
  origin: string,
): Promise<{ token: string; expiresIn: number; keyFile: string }> {
  const directory = path.join(dataDir, 'demo-client');
  const keyFile = path.join(directory, 'private-key.jwk.json');
  let keys: ClientKeyPair;
  try {
    keys = JSON.parse(await fs.readFile(keyFile, 'utf8')) as ClientKeyPair;
  } catch {
    keys = await generateClientKeyPair('RS384');
    await makePrivateDirectory(directory);
    await fs.writeFile(keyFile, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
    await fs.writeFile(path.join(directory, 'jwks.json'), JSON.stringify(keys.publicJwks, null, 2) + '\n');
  }
  const commands = app.get(CommandBus);
  const registered = (await app.get(ClientRegistryReader).current()).clients.get(DEMO_CLIENT_ID);
  const by = 'npm run demo';
  if (!registered)
    await commands.execute(
      new ChangeClientRegistryCommand({
        kind: 'register',
        clientId: DEMO_CLIENT_ID,
        scope: DEMO_SCOPE,
        jwks: keys.publicJwks,
        by,
      }),
    );
  else if (!registered.jwks.keys.some((k) => k.kid === keys.privateJwk.kid))
    await commands.execute(
      new ChangeClientRegistryCommand({
        kind: 'rotate-keys',
        clientId: DEMO_CLIENT_ID,
        jwks: keys.publicJwks,
        by,
      }),
    );
  const tokenUrl = `${origin}/auth/token`;
  const assertion = await signClientAssertion({
    clientId: DEMO_CLIENT_ID,
    tokenUrl,
    privateJwk: keys.privateJwk,
  });
  const granted = await commands.execute(
    new GrantAccessTokenCommand(tokenRequestForm(assertion, DEMO_SCOPE), tokenUrl, `${origin}/fhir`),
  );
  return { token: granted.access_token, expiresIn: granted.expires_in, keyFile };
}
