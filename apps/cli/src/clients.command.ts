import { makePrivateDirectory } from '@fa/platform';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { Command, InvalidArgumentError } from 'commander';
import {
  ChangeClientRegistryCommand,
  ClientKeyPair,
  ClientRegistryChange,
  ClientRegistryRejected,
  generateClientKeyPair,
  ListClientsQuery,
  RegisteredClient,
  ScopeError,
  signClientAssertion,
  tokenRequestForm,
} from '@fa/access';
import { parseFhirDateRange } from '@fa/fhir';

type WithContext = <T>(fn: (runtime: unknown, context: INestApplicationContext) => Promise<T>) => Promise<T>;

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    throw new InvalidArgumentError(`${file}: ${(error as Error).message}`);
  }
}

function instant(value: string): Date {
  const range = parseFhirDateRange(value);
  if (!range) throw new InvalidArgumentError('a FHIR date, dateTime or instant');
  return range.end;
}

function describe(client: RegisteredClient): string {
  const state = client.revokedAt ? `revoked ${client.revokedAt.toISOString()}` : 'active';
  const keys = client.jwks.keys.map((k) => `${k.kid} (${k.kty}${k.alg ? ` ${k.alg}` : ''})`).join(', ');
  return [
    `${client.clientId}: ${state}, registered ${client.registeredAt.toISOString()}`,
    `  scopes: ${client.scopes.join(' ')}`,
    `  keys:   ${keys}${client.keysRotatedAt ? `, rotated ${client.keysRotatedAt.toISOString()}` : ''}`,
    ...(client.jwksUrl ? [`  jku:    ${client.jwksUrl}`] : []),
  ].join('\n');
}

/**
 * `clients …`: the client registry (events in the event store) and, for a client's own use, key generation and
 * obtaining a token from a running service.
 */
export function clientsCommand(withContext: WithContext): Command {
  const by = `cli:${os.userInfo().username}`;
  const change = (made: ClientRegistryChange) =>
    withContext(async (_runtime, context) => {
      try {
        const client = await context.get(CommandBus).execute(new ChangeClientRegistryCommand(made));
        process.stdout.write(describe(client) + '\n');
      } catch (error) {
        if (error instanceof ClientRegistryRejected || error instanceof ScopeError)
          throw new InvalidArgumentError(error.message);
        throw error;
      }
    });
  const command = new Command('clients').description(
    'SMART Backend Services clients: who may obtain tokens, with which scopes and keys',
  );
  command
    .command('register')
    .description('Register a client with its public keys (JWKS) and the scopes it may be granted')
    .requiredOption('--client-id <id>', 'the id the client names as iss and sub of its assertions')
    .requiredOption('--jwks <file>', 'JSON Web Key Set of its public keys (RS384 or ES384, each with a kid)')
    .requiredOption(
      '--scope <scopes>',
      'allowed scopes, space-separated, e.g. "system/*.rs system/fhir-aggregator.admin"',
    )
    .option('--jwks-url <url>', 'a jku the client may name; its keys are fetched from there too')
    .action(async (options: { clientId: string; jwks: string; scope: string; jwksUrl?: string }) => {
      const jwks = await readJson(options.jwks);
      await change({
        kind: 'register',
        clientId: options.clientId,
        scope: options.scope,
        jwks,
        jwksUrl: options.jwksUrl,
        by,
      });
    });
  command
    .command('list')
    .description('The registered clients (revoked ones too), now or as of an instant')
    .option('--as-of <instant>', 'the registry as it was then', instant)
    .option('--json', 'as JSON')
    .action(async (options: { asOf?: Date; json?: boolean }) => {
      await withContext(async (_runtime, context) => {
        const clients = await context.get(QueryBus).execute(new ListClientsQuery(options.asOf));
        process.stdout.write(
          options.json
            ? JSON.stringify(clients, null, 2) + '\n'
            : clients.length === 0
              ? 'no clients registered\n'
              : clients.map(describe).join('\n') + '\n',
        );
      });
    });
  command
    .command('rotate-keys')
    .description(
      "Replace a client's public keys; assertions signed with the old ones are refused from now on",
    )
    .requiredOption('--client-id <id>', 'the client')
    .requiredOption('--jwks <file>', 'the new JSON Web Key Set')
    .option('--jwks-url <url>', 'a new jku')
    .action(async (options: { clientId: string; jwks: string; jwksUrl?: string }) => {
      const jwks = await readJson(options.jwks);
      await change({ kind: 'rotate-keys', clientId: options.clientId, jwks, jwksUrl: options.jwksUrl, by });
    });
  command
    .command('revoke')
    .description('Revoke a client: no new tokens, and its tokens stop working within a second')
    .requiredOption('--client-id <id>', 'the client')
    .option('--reason <text>', 'why, kept in the ClientRevoked event')
    .action(async (options: { clientId: string; reason?: string }) => {
      await change({ kind: 'revoke', clientId: options.clientId, reason: options.reason, by });
    });
  command
    .command('keygen')
    .description(
      "Make a client key pair: <dir>/private-key.jwk.json (the client's, mode 0600) and <dir>/jwks.json (to register)",
    )
    .requiredOption('--out <dir>', 'where to write them')
    .option('--alg <alg>', 'RS384 or ES384', 'RS384')
    .action(async (options: { out: string; alg: string }) => {
      if (options.alg !== 'RS384' && options.alg !== 'ES384')
        throw new InvalidArgumentError('--alg: RS384 or ES384');
      const keys = await generateClientKeyPair(options.alg);
      await makePrivateDirectory(options.out);
      const privateFile = path.join(options.out, 'private-key.jwk.json');
      await fs.writeFile(privateFile, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
      await fs.writeFile(
        path.join(options.out, 'jwks.json'),
        JSON.stringify(keys.publicJwks, null, 2) + '\n',
      );
      process.stdout.write(
        `${privateFile} (kid ${keys.privateJwk.kid}) and ${path.join(options.out, 'jwks.json')}\n`,
      );
    });
  command
    .command('token')
    .description('Obtain an access token from a running service as the client (prints the token alone)')
    .requiredOption('--client-id <id>', 'the client')
    .requiredOption('--key <file>', 'the private-key.jwk.json that keygen (or npm run demo) wrote')
    .option('--url <token url>', 'the token endpoint', 'http://localhost:3000/auth/token')
    .option('--scope <scopes>', 'scopes to request', 'system/*.rs')
    .action(async (options: { clientId: string; key: string; url: string; scope: string }) => {
      const { privateJwk } = (await readJson(options.key)) as ClientKeyPair;
      const assertion = await signClientAssertion({
        clientId: options.clientId,
        tokenUrl: options.url,
        privateJwk,
      });
      const response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(tokenRequestForm(assertion, options.scope)),
      });
      const body = (await response.json()) as {
        access_token?: string;
        error?: string;
        error_description?: string;
      };
      if (!response.ok || !body.access_token)
        throw new Error(
          `token request refused (${response.status}): ${body.error}: ${body.error_description}`,
        );
      process.stdout.write(body.access_token + '\n');
    });
  return command;
}
