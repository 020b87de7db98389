import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportSPKI, generateKeyPair, importJWK, type JWK, type KeyLike, SignJWT, UnsecuredJWT } from 'jose';
import { generateClientKeyPair, type ClientKeyPair } from '@fa/access';
import { AggregatorHarness, runCli, startAggregator } from './support/aggregator-harness';
import type { Response } from 'supertest';

/**
 * SMART Backend Services' token endpoint over HTTP: assertions made here with jose, as a client makes them, and
 * each way one can be wrong refused with the RFC 6749 error and a description naming the fault.
 */
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Client {
  clientId: string;
  keys: ClientKeyPair;
}

describe('POST /auth/token (SMART Backend Services, RFC 7523) and the client registry', () => {
  let harness: AggregatorHarness;
  let tokenUrl: string;
  let rs: Client;
  let es: Client;

  const now = () => Math.floor(Date.now() / 1000);

  async function register(clientId: string, alg: 'RS384' | 'ES384', scope = 'system/*.rs'): Promise<Client> {
    const keys = await generateClientKeyPair(alg);
    await harness.http().post('/admin/clients').send({ clientId, scope, jwks: keys.publicJwks }).expect(201);
    return { clientId, keys };
  }

  /** An assertion as bulk-data-client makes it, with any claim or header overridden. */
  async function assertion(
    client: Client,
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key?: KeyLike | Uint8Array,
  ): Promise<string> {
    const jwk = client.keys.privateJwk;
    return new SignJWT({
      iss: client.clientId,
      sub: client.clientId,
      aud: tokenUrl,
      exp: now() + 240,
      jti: `${Math.random()}`.slice(2),
      ...claims,
    })
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT', ...header } as { alg: string })
      .sign(key ?? ((await importJWK(jwk, jwk.alg)) as KeyLike));
  }

  const requestToken = (form: Record<string, string>) =>
    harness.http({ token: false }).post('/auth/token').type('form').send(form);

  const grant = (clientAssertion: string, scope = 'system/*.rs') =>
    requestToken({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: clientAssertion,
      scope,
    });

  async function expectRefused(clientAssertion: string, error: string, description: RegExp, scope?: string) {
    const response = await grant(clientAssertion, scope);
    expect({ status: response.status, body: response.body }).toEqual({
      status: error === 'invalid_client' ? 401 : 400,
      body: { error, error_description: expect.stringMatching(description) },
    });
    expect(response.headers['cache-control']).toBe('no-store');
  }

  beforeAll(async () => {
    harness = await startAggregator({ auth: { rateLimit: { perSecond: 20, burst: 20 } } });
    // Listening, so that supertest names this one address (the assertion's aud is the URL the client reaches).
    const server = harness.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    tokenUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/auth/token`;
    rs = await register('rs-client', 'RS384', 'system/*.rs system/fhir-aggregator.admin');
    es = await register('es-client', 'ES384', 'system/Patient.rs system/Observation.rs?category=laboratory');
  });
  afterAll(() => harness?.close());

  it('grants an RS384 assertion a token of at most 300 s with the scopes asked for, and the token reads', async () => {
    const response = await grant(
      await assertion(rs),
      'system/Patient.rs system/fhir-aggregator.admin',
    ).expect(200);
    expect(response.body).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: expect.any(Number),
      scope: 'system/Patient.rs system/fhir-aggregator.admin',
    });
    expect(response.body.expires_in).toBeLessThanOrEqual(300);
    const token = response.body.access_token as string;
    await harness.http({ token }).get('/fhir/Patient').expect(200);
    await harness.http({ token }).get('/admin/projections').expect(200);
    const denied = await harness.http({ token }).get('/fhir/Observation').expect(403);
    expect(denied.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
  });

  it('records every grant (its client and granted scopes) and every refusal in the access audit', async () => {
    const audited = async (requestId: string) =>
      (
        await harness.database.pool.query<{ record: Record<string, unknown> }>(
          `SELECT record FROM audit.records WHERE record->>'requestId' = $1`,
          [requestId],
        )
      ).rows.map((row) => row.record);
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      scope: 'system/Patient.rs',
    };
    const send = (id: string, clientAssertion: string) =>
      harness
        .http({ token: false })
        .post('/auth/token')
        .set('x-request-id', id)
        .type('form')
        .send({ ...form, client_assertion: clientAssertion });
    await send('grant-audited', await assertion(rs)).expect(200);
    expect(await audited('grant-audited')).toEqual([
      expect.objectContaining({
        route: '/auth/token',
        client: rs.clientId,
        scopes: ['system/Patient.rs'],
        status: 200,
      }),
    ]);
    await send('refusal-audited', await assertion(rs, { aud: 'https://elsewhere.example/token' })).expect(
      401,
    );
    expect(await audited('refusal-audited')).toEqual([
      expect.objectContaining({ route: '/auth/token', client: null, status: 401 }),
    ]);
    // The assertion never reaches the audit's query.
    for (const id of ['grant-audited', 'refusal-audited'])
      expect(JSON.stringify(await audited(id))).not.toMatch(/client_assertion=|eyJ/);
  });

  it('grants an ES384 assertion, maps v1 scopes to v2 and keeps granular ones', async () => {
    const response = await grant(
      await assertion(es),
      'system/Patient.read system/Observation.rs?category=laboratory',
    ).expect(200);
    expect(response.body.scope).toBe('system/Patient.rs system/Observation.rs?category=laboratory');
  });

  it.each([
    ['expired', { exp: 1_600_000_000 }, {}, /expired/],
    ['with iat in the future', { iat: Math.floor(Date.now() / 1000) + 600 }, {}, /iat .* in the future/],
    [
      'with exp more than 5 minutes ahead',
      { exp: Math.floor(Date.now() / 1000) + 3600 },
      {},
      /at most 300 s/,
    ],
    [
      'for another audience',
      { aud: 'https://elsewhere.example/token' },
      {},
      /aud must be the token endpoint URL/,
    ],
    ['whose iss is not its sub', { iss: 'someone-else' }, {}, /iss .* and sub .* must both be the client id/],
    [
      'from an unregistered client',
      { iss: 'nobody', sub: 'nobody' },
      {},
      /client "nobody" is not registered/,
    ],
    ['naming an unknown kid', {}, { kid: 'no-such-key' }, /has no registered key with kid "no-such-key"/],
    [
      'with a jku that is not registered',
      {},
      { jku: 'https://evil.example/jwks' },
      /jku .* is not the JWKS URL registered/,
    ],
    ['without a jti', { jti: undefined }, {}, /jti/],
  ])('refuses an assertion %s: invalid_client', async (_name, claims, header, description) => {
    await expectRefused(await assertion(rs, claims, header), 'invalid_client', description);
  });

  it('refuses an assertion signed by another key under the registered kid', async () => {
    const { privateKey } = await generateKeyPair('RS384');
    await expectRefused(
      await assertion(rs, {}, {}, privateKey),
      'invalid_client',
      /signature does not verify with the registered key/,
    );
  });

  it('refuses alg none and an HS256 assertion keyed with the registered public key', async () => {
    const unsigned = new UnsecuredJWT({
      iss: rs.clientId,
      sub: rs.clientId,
      aud: tokenUrl,
      exp: now() + 60,
      jti: 'u1',
    }).encode();
    await expectRefused(unsigned, 'invalid_client', /unsigned assertion \(alg none\) is refused/);
    const publicKey = await importJWK(rs.keys.publicJwks.keys[0] as JWK, 'RS384');
    const pem = await exportSPKI(publicKey as KeyLike);
    const hmac = await new SignJWT({
      iss: rs.clientId,
      sub: rs.clientId,
      aud: tokenUrl,
      exp: now() + 60,
      jti: 'h1',
    })
      .setProtectedHeader({ alg: 'HS256', kid: rs.keys.privateJwk.kid })
      .sign(new TextEncoder().encode(pem));
    await expectRefused(hmac, 'invalid_client', /HMAC-signed assertion \(HS256\) is refused/);
  });

  it('refuses a replayed jti within its lifetime', async () => {
    const once = await assertion(rs, { jti: 'replayed-jti-1' });
    await grant(once).expect(200);
    await expectRefused(once, 'invalid_client', /jti "replayed-jti-1" was already used by client rs-client/);
  });

  it('refuses scopes beyond the registration (invalid_scope) and malformed ones', async () => {
    await expectRefused(
      await assertion(es),
      'invalid_scope',
      /system\/Observation.rs is beyond the scopes registered for client es-client/,
      'system/Observation.rs',
    );
    await expectRefused(
      await assertion(rs),
      'invalid_scope',
      /system\/fhir-aggregator.mdm is beyond/,
      'system/fhir-aggregator.mdm',
    );
    await expectRefused(
      await assertion(rs),
      'invalid_scope',
      /backend service is granted system\/ scopes only/,
      'patient/*.rs',
    );
  });

  it('refuses malformed requests: invalid_request and unsupported_grant_type', async () => {
    const good = await assertion(rs);
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: good,
      scope: 'system/*.rs',
    };
    const refused = async (body: Record<string, string>, error: string, description: RegExp) => {
      const response = await requestToken(body).expect(400);
      expect(response.body).toEqual({ error, error_description: expect.stringMatching(description) });
    };
    await refused(
      { ...form, grant_type: 'authorization_code' },
      'unsupported_grant_type',
      /use client_credentials/,
    );
    await refused({ ...form, client_assertion: '' }, 'invalid_request', /client_assertion is missing/);
    await refused(
      { ...form, client_assertion_type: 'password' },
      'invalid_request',
      /client_assertion_type must be/,
    );
    await refused({ ...form, scope: '' }, 'invalid_request', /scope is missing/);
    const json = await harness.http({ token: false }).post('/auth/token').send(form).expect(400);
    expect(json.body.error).toBe('invalid_request');
  });

  it('refuses a revoked client, and its outstanding tokens stop working', async () => {
    const doomed = await register('doomed-client', 'ES384');
    const token = (await grant(await assertion(doomed)).expect(200)).body.access_token as string;
    await harness.http({ token }).get('/fhir/Patient').expect(200);
    await harness
      .http()
      .post('/admin/clients/doomed-client/$revoke')
      .send({ reason: 'key leaked' })
      .expect(201);
    await expectRefused(await assertion(doomed), 'invalid_client', /client doomed-client was revoked at/);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const response = await harness.http({ token }).get('/fhir/Patient').expect(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
  });

  it('answers 401 with WWW-Authenticate: Bearer and an OperationOutcome without a token or with a bad one', async () => {
    for (const token of [false, 'not.a.token'] as const) {
      const response = await harness.http({ token }).get('/fhir/Patient').expect(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="fhir-aggregator"/);
      expect(response.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
    }
    // A token signed by a key that is not the server's, however well formed.
    const { privateKey } = await generateKeyPair('ES384');
    const forged = await new SignJWT({ scope: 'system/*.rs' })
      .setProtectedHeader({ alg: 'ES384', typ: 'at+jwt', kid: 'forged' })
      .setIssuer('urn:fhir-aggregator')
      .setSubject(rs.clientId)
      .setExpirationTime('1m')
      .sign(privateKey);
    await harness.http({ token: forged }).get('/fhir/Patient').expect(401);
  });

  it('limits each client to its token bucket: 429 with Retry-After and an OperationOutcome', async () => {
    const busy = await register('busy-client', 'ES384');
    const token = (await grant(await assertion(busy)).expect(200)).body.access_token as string;
    // Waves of 40 at once until one is refused: on a loaded machine a wave can take longer than the bucket
    // needs to refill (20/s), so the first wave alone need not reach the limit; ten waves (400 requests within
    // 20 s of refill) must.
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let wave = 0; wave < 10 && !limited; wave++) {
      const responses = await Promise.all(
        Array.from({ length: 40 }, () => harness.http({ token }).get('/fhir/Patient?_count=1')),
      );
      statuses.push(...responses.map((r) => r.status));
      limited = responses.find((r) => r.status === 429);
    }
    // The burst (20) passes before the first refusal.
    expect(statuses.slice(0, 40).filter((s) => s === 200).length).toBeGreaterThanOrEqual(20);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited!.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
    // Another client's bucket is its own.
    await harness
      .http({ token: (await grant(await assertion(rs)).expect(200)).body.access_token })
      .get('/fhir/Patient')
      .expect(200);
  });

  it('describes itself: .well-known/smart-configuration, the CapabilityStatement security, the server keys', async () => {
    const smart = await harness
      .http({ token: false })
      .get('/fhir/.well-known/smart-configuration')
      .expect(200);
    expect(smart.body).toMatchObject({
      token_endpoint: expect.stringMatching(/\/auth\/token$/),
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      capabilities: expect.arrayContaining(['client-confidential-asymmetric', 'permission-v2']),
      scopes_supported: expect.arrayContaining(['system/*.rs', 'system/fhir-aggregator.admin']),
    });
    const metadata = await harness.http({ token: false }).get('/fhir/metadata').expect(200);
    const security = metadata.body.rest[0].security;
    expect(security.service[0].coding[0]).toEqual({
      system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
      code: 'SMART-on-FHIR',
    });
    expect(security.extension[0]).toEqual({
      url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
      extension: [{ url: 'token', valueUri: smart.body.token_endpoint }],
    });
    const jwks = await harness.http({ token: false }).get('/auth/jwks').expect(200);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' });
    expect(jwks.body.keys[0].d).toBeUndefined();
  });

  it('keeps the registry as events: refusals name the problem, and the registry answers as of an instant', async () => {
    const before = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const late = await register('late-client', 'RS384');
    await harness
      .http()
      .post('/admin/clients')
      .send({ clientId: 'late-client', scope: 'system/*.rs', jwks: late.keys.publicJwks })
      .expect(409);
    const withPrivate = { keys: [{ ...late.keys.privateJwk }] };
    const bad = await harness
      .http()
      .post('/admin/clients')
      .send({ clientId: 'bad-client', scope: 'system/*.rs', jwks: withPrivate })
      .expect(400);
    expect(bad.body.message).toMatch(/holds private key material/);
    await harness
      .http()
      .post('/admin/clients')
      .send({ clientId: 'bad-client', scope: 'system/Foo.rs', jwks: late.keys.publicJwks })
      .expect(400);
    await harness
      .http()
      .post('/admin/clients/ghost/$rotate-keys')
      .send({ jwks: late.keys.publicJwks })
      .expect(404);
    const rotated = await generateClientKeyPair('ES384');
    await harness
      .http()
      .post('/admin/clients/late-client/$rotate-keys')
      .send({ jwks: rotated.publicJwks })
      .expect(201);
    await expectRefused(await assertion(late), 'invalid_client', /has no registered key with kid/);
    await grant(await assertion({ clientId: 'late-client', keys: rotated })).expect(200);
    const then = await harness.http().get(`/admin/clients?_asOf=${before}`).expect(200);
    const ids = (body: { clients: { clientId: string }[] }) => body.clients.map((c) => c.clientId);
    expect(ids(then.body)).not.toContain('late-client');
    const now = await harness.http().get('/admin/clients').expect(200);
    expect(now.body.clients.find((c: { clientId: string }) => c.clientId === 'late-client')).toMatchObject({
      scopes: ['system/*.rs'],
      keysRotatedAt: expect.any(String),
      jwks: rotated.publicJwks,
    });
    await harness
      .http({ token: await harness.tokenFor('system/*.rs') })
      .get('/admin/clients')
      .expect(403);
  });

  it('registers, lists and revokes clients from the command line (npm run cli -- clients …)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-clients-'));
    try {
      const keys = await runCli(['clients', 'keygen', '--out', dir, '--alg', 'ES384'], harness.database.url);
      expect(keys.code).toBe(0);
      const registered = await runCli(
        [
          'clients',
          'register',
          '--client-id',
          'cli-client',
          '--jwks',
          path.join(dir, 'jwks.json'),
          '--scope',
          'system/*.read system/fhir-aggregator.audit',
        ],
        harness.database.url,
      );
      expect(registered).toMatchObject({ code: 0, stdout: expect.stringContaining('cli-client: active') });
      expect(registered.stdout).toContain('scopes: system/*.rs system/fhir-aggregator.audit');
      const keyPair = JSON.parse(
        await fs.readFile(path.join(dir, 'private-key.jwk.json'), 'utf8'),
      ) as ClientKeyPair;
      await grant(await assertion({ clientId: 'cli-client', keys: keyPair })).expect(200);
      const minted = await runCli(
        [
          'clients',
          'token',
          '--client-id',
          'cli-client',
          '--key',
          path.join(dir, 'private-key.jwk.json'),
          '--url',
          tokenUrl,
          '--scope',
          'system/Patient.rs',
        ],
        harness.database.url,
      );
      expect(minted.code).toBe(0);
      await harness.http({ token: minted.stdout.trim() }).get('/fhir/Patient').expect(200);
      const revoked = await runCli(
        ['clients', 'revoke', '--client-id', 'cli-client', '--reason', 'test'],
        harness.database.url,
      );
      expect(revoked).toMatchObject({ code: 0, stdout: expect.stringMatching(/cli-client: revoked/) });
      const listed = await runCli(['clients', 'list', '--json'], harness.database.url);
      const clients = JSON.parse(listed.stdout) as { clientId: string; revokedAt?: string }[];
      expect(clients.find((c) => c.clientId === 'cli-client')?.revokedAt).toEqual(expect.any(String));
      await expectRefused(
        await assertion({ clientId: 'cli-client', keys: keyPair }),
        'invalid_client',
        /revoked/,
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
