// A real FHIR client (fhir-kit-client 2.x, ESM-only) run as a child process by test/fhir-kit-client.e2e-spec.ts.
//
//   node test/support/fhir-kit-client-search.mjs <baseUrl> '<JSON array of steps>'
//
// A step is { kind: 'search', resourceType, searchParams, post? } or { kind: 'everything', id, params }, optionally
// with pauseAfterFirstPage: true (the script then prints {"paused":<step index>} and waits for a line on stdin
// before following the next links). Each step follows `next` links with client.nextPage() until there is none and
// prints one JSON line: { step, pages: [{ total, links, entries: [{ fullUrl, mode, resource }] }] } or
// { step, error: { status, data, message } }.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Client } from 'fhir-kit-client';
import { importJWK, SignJWT } from 'jose';

/**
 * With SMART_CLIENT_ID and SMART_PRIVATE_JWK (the client's private JWK, JSON) set, the client first obtains an
 * access token as SMART Backend Services prescribes and bulk-data-client does it: the token endpoint from
 * <base>/.well-known/smart-configuration, an assertion signed RS384 with the key's kid (iss = sub = client id,
 * aud = token endpoint, a random jti, exp five minutes ahead), a client_credentials form POST. Without them: no
 * token.
 */
async function backendServicesToken() {
  const clientId = process.env.SMART_CLIENT_ID;
  if (!clientId) return undefined;
  const privateJwk = JSON.parse(process.env.SMART_PRIVATE_JWK);
  const configuration = await (await fetch(`${baseUrl}/.well-known/smart-configuration`)).json();
  const tokenUrl = configuration.token_endpoint;
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: privateJwk.alg, kid: privateJwk.kid, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenUrl)
    .setExpirationTime(Math.round(Date.now() / 1000) + 300)
    .setJti(randomBytes(10).toString('hex'))
    .sign(await importJWK(privateJwk, privateJwk.alg));
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      scope: process.env.SMART_SCOPE ?? 'system/*.rs',
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
  const body = await response.json();
  if (!response.ok) {
    console.error(`token request refused: ${response.status} ${JSON.stringify(body)}`);
    process.exit(3);
  }
  return body.access_token;
}

const MAX_PAGES = 1000;

const [baseUrl, stepsJson] = process.argv.slice(2);
if (!baseUrl || !stepsJson) {
  console.error('usage: fhir-kit-client-search.mjs <baseUrl> <steps JSON>');
  process.exit(2);
}
const steps = JSON.parse(stepsJson);
const client = new Client({ baseUrl, bearerToken: await backendServicesToken() });
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');

function firstPage(step) {
  switch (step.kind) {
    case 'search':
      return client.search({
        resourceType: step.resourceType,
        searchParams: step.searchParams,
        options: step.post ? { postSearch: true } : {},
      });
    case 'everything':
      return client.operation({
        name: '$everything',
        resourceType: 'Patient',
        id: step.id,
        method: 'GET',
        input: step.params && Object.keys(step.params).length > 0 ? step.params : undefined,
      });
    default:
      throw new Error(`unknown step kind ${JSON.stringify(step.kind)}`);
  }
}

const pageOf = (bundle) => ({
  resourceType: bundle.resourceType,
  type: bundle.type,
  total: bundle.total ?? null,
  links: (bundle.link ?? []).map((l) => ({ relation: l.relation, url: l.url })),
  entries: (bundle.entry ?? []).map((e) => ({
    fullUrl: e.fullUrl ?? null,
    mode: e.search?.mode ?? null,
    resource: e.resource ?? null,
  })),
});

for (const [index, step] of steps.entries()) {
  try {
    const pages = [];
    let bundle = await firstPage(step);
    while (bundle) {
      pages.push(pageOf(bundle));
      if (pages.length >= MAX_PAGES)
        throw new Error(`more than ${MAX_PAGES} pages: the next links do not end`);
      if (pages.length === 1 && step.pauseAfterFirstPage) {
        print({ paused: index });
        await stdinLines.next();
      }
      bundle = await client.nextPage({ bundle });
    }
    print({ step: index, pages });
  } catch (error) {
    print({
      step: index,
      error: {
        status: error.response?.status ?? null,
        data: error.response?.data ?? null,
        message: error.message,
      },
    });
  }
}
// Exit only once stdout is flushed: to a pipe, process.exit() can drop writes still queued.
await new Promise((resolve) => process.stdout.write('', resolve));
process.exit(0);
