import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { OperationOutcome } from 'fhir/r4';
import fc from 'fast-check';
import { AggregatorHarness, FIXTURES, startAggregator } from './support/aggregator-harness';
import { Dataset, readNdjsonFolder } from './support/independent-search/dataset';
import { ourIdIn } from './support/independent-search/search-client';
import { expectedMatches } from './support/independent-search/search-oracle';
import { encodeParameters, FuzzRequest, searchRequests } from './support/search-fuzz';

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
/** The budget the service runs with here: short enough for the lock test, ample for every real query. */
const QUERY_TIMEOUT_MS = 3000;
/** INCLUDE_LIMIT here: below the sample's Observations of one patient, so a _revinclude can pass it. */
const INCLUDE_LIMIT = 20;

/** The 12 requests a probe of 10,047 malformed ones found answered 500 (issue 22): NUL in a search value. */
export const NUL_REGRESSIONS: [url: string, parameter: string][] = [
  ['/fhir/Patient?name=%00', 'name'],
  ['/fhir/Patient?family=%00', 'family'],
  ['/fhir/Patient?identifier=%00', 'identifier'],
  ['/fhir/Patient?gender:not=%00', 'gender:not'],
  ['/fhir/Patient?name:exact=%00', 'name:exact'],
  ['/fhir/Patient?family:contains=%00', 'family:contains'],
  ['/fhir/Practitioner?name=%00', 'name'],
  ['/fhir/Organization?name:exact=%00', 'name:exact'],
  ['/fhir/Observation?code=%00', 'code'],
  ['/fhir/Encounter?identifier=%00', 'identifier'],
  ['/fhir/Location?name:contains=%00', 'name:contains'],
  ['/fhir/Condition?code:not=%00', 'code:not'],
];

/** Sends raw bytes to the server and returns the raw response (for what Node itself answers). */
function rawRequest(port: number, text: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const split = data.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0),
        headers: data.slice(0, split),
        body: data.slice(split + 4),
      });
    });
    socket.write(text);
  });
}

function expectOutcome(body: unknown, diagnostics?: RegExp): OperationOutcome {
  const outcome = body as OperationOutcome;
  expect(outcome.resourceType).toBe('OperationOutcome');
  expect(outcome.issue[0].severity).toBe('error');
  if (diagnostics) expect(outcome.issue[0].diagnostics).toMatch(diagnostics);
  return outcome;
}

interface FuzzBundle {
  resourceType?: string;
  type?: string;
  total?: number;
  link?: { relation: string }[];
  entry?: { resource?: { resourceType?: string; id?: string }; search?: { mode?: string } }[];
  issue?: unknown[];
}

describe('hostile HTTP input: every bad request is a 4xx OperationOutcome, never a 5xx', () => {
  let harness: AggregatorHarness;
  let port: number;

  beforeAll(async () => {
    harness = await startAggregator({ queryTimeoutMs: QUERY_TIMEOUT_MS, includeLimit: INCLUDE_LIMIT });
    await harness.ingest('hospital-a', [SAMPLE]);
    const server = harness.app.getHttpServer() as http.Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await harness?.close();
  });

  describe('NUL, invalid UTF-8 and control characters in parameters', () => {
    it.each(NUL_REGRESSIONS)('%s is 400 naming %s', async (url, parameter) => {
      const response = await harness.http().get(url);
      expect(response.status).toBe(400);
      expect(response.type).toBe('application/fhir+json');
      const outcome = expectOutcome(response.body, /NUL character/);
      expect(outcome.issue[0].expression).toEqual([parameter]);
    });

    it.each([
      ['/fhir/Patient?family=%C3%28', 'family', /not valid UTF-8/],
      ['/fhir/Patient?family=%C0%AF', 'family', /not valid UTF-8/],
      ['/fhir/Patient?name=%ED%A0%80', 'name', /not valid UTF-8/],
      ['/fhir/Patient?name=a%07b', 'name', /control character/],
      ['/fhir/Patient/abc/$everything?_type=%00', '_type', /NUL/],
      ['/fhir/Patient/_history?_since=%00', '_since', /NUL/],
    ])('%s is 400 naming %s', async (url, parameter, diagnostics) => {
      const response = await harness.http().get(url);
      expect(response.status).toBe(400);
      expect(expectOutcome(response.body, diagnostics).issue[0].expression).toEqual([parameter]);
    });

    it.each(
      [
        '/fhir/Patient/%00',
        '/fhir/Patient/%C3%28',
        '/fhir/Patient/%ED%A0%80/_history',
        '/fhir/Patient/x/_history/%00',
        '/fhir/Patient/x/$everything',
        '/fhir/%00',
        '/fhir/Patient%00',
        '/fhir/Patient/%F0%9F%99%82',
        `/fhir/Patient/${'a'.repeat(5000)}`,
        '/lineage/Patient/%00',
        '/admin/rejections/%00?limit=%00',
        '/admin/rejections/x?limit=-1',
        '/admin/identity/reviews?limit=99999999999999999999',
        '/fhir/Provenance?target=%00',
        '/fhir/Provenance?target=Patient/%C3%28',
        '/fhir/$mdm-query-links?resourceId=%00',
      ].map((url) => [url.length > 80 ? `${url.slice(0, 40)}… (${url.length} characters)` : url, url]),
    )('odd path or admin parameter %s is a 4xx (or a 2xx), never a 5xx', async (_label, url) => {
      const response = await harness.http().get(url);
      expect({ url, status: response.status < 500 }).toEqual({ url, status: true });
      if (url.startsWith('/fhir') && response.status >= 400) expectOutcome(response.body);
    });

    it('a tab in a :exact value is still a search (FHIR strings allow it)', async () => {
      const response = await harness.http().get('/fhir/Patient?name:exact=Tab%09there');
      expect(response.status).toBe(200);
      expect(response.body.resourceType).toBe('Bundle');
    });

    it('POST _search with a NUL in a form field is 400 naming it; a JSON body with one is 400', async () => {
      const form = await harness.http().post('/fhir/Patient/_search').type('form').send('family=%00');
      expect(form.status).toBe(400);
      expect(expectOutcome(form.body, /NUL/).issue[0].expression).toEqual(['family']);
      const json = await harness
        .http()
        .post('/fhir/$mdm-update-link')
        .set('Content-Type', 'application/fhir+json')
        .send(
          JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'x\u0000', valueString: 'a' }] }),
        );
      expect(json.status).toBe(400);
      expectOutcome(json.body, /request body.*NUL/);
    });

    it.each([
      ['nested 100,000 levels', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`],
      [
        'an array of 200,000 elements',
        JSON.stringify({ resourceType: 'Parameters', parameter: Array(200_000).fill({ name: 'x' }) }),
      ],
      ['a JSON string', '"Parameters"'],
      ['null', 'null'],
      ['wrong types everywhere', JSON.stringify({ resourceType: 7, parameter: { name: [] } })],
    ])(
      'a body %s is a 4xx OperationOutcome (or ignored by _search, which reads forms)',
      async (_what, body) => {
        for (const url of [
          '/fhir/$mdm-update-link',
          '/fhir/$mdm-merge-golden-resources',
          '/fhir/Patient/_search',
        ]) {
          const response = await harness
            .http()
            .post(url)
            .set('Content-Type', 'application/fhir+json')
            .send(body);
          if (url.endsWith('_search') && response.status === 200) {
            expect(response.body.resourceType).toBe('Bundle');
          } else {
            expect({ url, status: response.status >= 400 && response.status < 500 }).toEqual({
              url,
              status: true,
            });
            expectOutcome(response.body);
          }
        }
      },
    );

    it('more than 100 parameters is 400', async () => {
      const query = Array.from({ length: 101 }, (_, i) => `p${i}=1`).join('&');
      const response = await harness.http().get(`/fhir/Patient?${query}`);
      expect(response.status).toBe(400);
      expectOutcome(response.body, /too many parameters/);
    });
  });

  describe('value lengths per type and JSON shape (input-limits.ts)', () => {
    it.each([
      ['_id', `/fhir/Patient?_id=${'a'.repeat(65)}`, /an id parameter value has at most 64/],
      ['name', `/fhir/Patient?name=${'a'.repeat(513)}`, /a string parameter value has at most 512/],
      ['family:exact', `/fhir/Patient?family:exact=${'a'.repeat(513)}`, /at most 512/],
      [
        'identifier',
        `/fhir/Patient?identifier=${'a'.repeat(1025)}`,
        /a token parameter value has at most 1024/,
      ],
      ['gender', `/fhir/Patient?gender=male,${'m'.repeat(1025)}`, /a token parameter value has at most 1024/],
      ['birthdate', `/fhir/Patient?birthdate=${'2'.repeat(65)}`, /a date parameter value has at most 64/],
      [
        '_lastUpdated',
        `/fhir/Patient?_lastUpdated=ge${'2'.repeat(63)}`,
        /a date parameter value has at most 64/,
      ],
      [
        'probability',
        `/fhir/RiskAssessment?probability=${'5'.repeat(129)}`,
        /a number parameter value has at most 128/,
      ],
      ['subject', `/fhir/Observation?subject=${'a'.repeat(4097)}`, /no parameter takes more than 4096/],
      ['_format', `/fhir/Patient?_format=${'x'.repeat(4097)}`, /no parameter takes more than 4096/],
    ])('%s: a value over its type limit is 400 naming it', async (parameter, url, diagnostics) => {
      const response = await harness.http().get(url);
      expect(response.status).toBe(400);
      expect(expectOutcome(response.body, diagnostics).issue[0].expression).toEqual([parameter]);
    });

    it('a value at its type limit is a search; a parameter name over 128 characters is 400', async () => {
      const atLimit = await harness.http().get(`/fhir/Patient?name=${'a'.repeat(512)}`);
      expect(atLimit.status).toBe(200);
      expect(atLimit.body).toMatchObject({ resourceType: 'Bundle', total: 0 });
      const longName = await harness.http().get(`/fhir/Patient?${'n'.repeat(129)}=1`);
      expect(longName.status).toBe(400);
      expectOutcome(longName.body, /parameter name of 129 characters is too long/);
    });

    it('POST _search: a form value over its type limit is 400 naming it', async () => {
      const response = await harness
        .http()
        .post('/fhir/Patient/_search')
        .type('form')
        .send(`name=${'a'.repeat(513)}`);
      expect(response.status).toBe(400);
      expect(expectOutcome(response.body, /at most 512/).issue[0].expression).toEqual(['name']);
    });

    it.each([
      [
        'nested 70 levels',
        `{"resourceType":"Parameters","parameter":[${'{"part":['.repeat(70)}{"name":"x"}${']}'.repeat(70)}]}`,
        /the request body: nested deeper than 64 levels at parameter\[0\]\.part\[0\]/,
      ],
      [
        'with 100,001 values',
        JSON.stringify({ resourceType: 'Parameters', parameter: Array(50_000).fill({ name: 'x' }) }),
        /the request body: more than 100000 JSON values \(the limit is passed at parameter\[\d+\]/,
      ],
      [
        'with a code of 1,025 characters',
        JSON.stringify({
          resourceType: 'Parameters',
          parameter: [{ name: 'x', valueCode: 'c'.repeat(1025) }],
        }),
        /the request body: the code at parameter\[0\]\.valueCode is 1025 characters; a code has at most 1024/,
      ],
    ])('a JSON body %s is 400 naming where', async (_what, body, diagnostics) => {
      const response = await harness
        .http()
        .post('/fhir/$mdm-update-link')
        .set('Content-Type', 'application/fhir+json')
        .send(body);
      expect(response.status).toBe(400);
      expectOutcome(response.body, diagnostics);
    });
  });

  describe('server limits', () => {
    it('a URL over the header limit is 414 with an OperationOutcome pointing to POST _search', async () => {
      const response = await rawRequest(
        port,
        `GET /fhir/Patient?name=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
      );
      expect(response.status).toBe(414);
      expect(response.headers).toMatch(/Content-Type: application\/fhir\+json/);
      expectOutcome(JSON.parse(response.body), /_search/);
    });

    it('headers over the limit are 431 with an OperationOutcome', async () => {
      const response = await rawRequest(
        port,
        `GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
      );
      expect(response.status).toBe(431);
      expectOutcome(JSON.parse(response.body), /headers/);
    });

    it('a body over the limit is 413 with an OperationOutcome; unparseable JSON is 400', async () => {
      const big = await harness
        .http()
        .post('/fhir/$mdm-update-link')
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify({ resourceType: 'Parameters', x: 'y'.repeat(6 * 1024 * 1024) }));
      expect(big.status).toBe(413);
      expectOutcome(big.body, /over the limit of \d+ bytes/);
      const broken = await harness
        .http()
        .post('/fhir/$mdm-update-link')
        .set('Content-Type', 'application/fhir+json')
        .send('{"resourceType": ');
      expect(broken.status).toBe(400);
      expectOutcome(broken.body, /not valid JSON/);
    });

    it('includes past INCLUDE_LIMIT: the page of matches, the first INCLUDE_LIMIT included and an OperationOutcome entry saying so', async () => {
      const patients = await harness.http().get('/fhir/Patient?_count=1');
      const patient = patients.body.entry[0].resource.id as string;
      const observations = await harness
        .http()
        .get(`/fhir/Observation?subject=Patient/${patient}&_summary=count`);
      expect(observations.body.total).toBeGreaterThan(INCLUDE_LIMIT);

      const response = await harness
        .http()
        .get(`/fhir/Patient?_id=${patient}&_revinclude=Observation:subject`);
      expect(response.status).toBe(200);
      const entries = response.body.entry as {
        resource: { resourceType: string };
        search: { mode: string };
      }[];
      const byMode = (mode: string) => entries.filter((e) => e.search.mode === mode);
      expect(byMode('match').map((e) => e.resource.resourceType)).toEqual(['Patient']);
      expect(byMode('include')).toHaveLength(INCLUDE_LIMIT);
      expect(new Set(byMode('include').map((e) => e.resource.resourceType))).toEqual(
        new Set(['Observation']),
      );
      const [outcome] = byMode('outcome');
      expect(outcome.resource).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'warning',
            code: 'incomplete',
            diagnostics: expect.stringContaining(`more than ${INCLUDE_LIMIT} resources`),
            expression: ['_include', '_revinclude'],
          },
        ],
      });

      // Within the limit: every included resource, no outcome entry.
      const within = await harness.http().get('/fhir/Observation?_count=5&_include=Observation:subject');
      expect(within.status).toBe(200);
      const modes = (within.body.entry as { search: { mode: string } }[]).map((e) => e.search.mode);
      expect(modes.filter((m) => m === 'include').length).toBeGreaterThan(0);
      expect(modes).not.toContain('outcome');
    });

    it('a search over its time budget is cancelled in PostgreSQL and answered 503 with Retry-After', async () => {
      // A writer holding the store's tables makes any search wait past its budget, deterministically.
      const locker = await harness.database.pool.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE fhir_store.resource_versions IN ACCESS EXCLUSIVE MODE');
        const started = Date.now();
        const response = await harness.http().get('/fhir/Patient?family=a');
        const elapsed = Date.now() - started;
        expect(response.status).toBe(503);
        expect(response.headers['retry-after']).toMatch(/^\d+$/);
        expectOutcome(response.body, /time budget/);
        expect(elapsed).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
        expect(elapsed).toBeLessThan(QUERY_TIMEOUT_MS + 5000);
        const everything = await harness.http().get('/fhir/Patient/x/$everything');
        expect(everything.status).toBe(503);
        // Cancelled, not left running: no search of ours waits on the lock any more.
        const waiting = await harness.database.pool.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        expect(Number(waiting.rows[0].n)).toBe(0);
      } finally {
        await locker.query('ROLLBACK');
        locker.release();
      }
      expect((await harness.http().get('/fhir/Patient?family=a')).status).toBe(200);
    });
  });
  /**
   * Seeded and bounded (runs and time), so CI runs the same requests every time; FUZZ_SEED and FUZZ_RUNS explore
   * further by hand (seeds 1-4 at 3000 runs were clean once the two bugs below were fixed).
   */
  describe('fuzz: search requests generated from the SearchParameter registry (fast-check, seeded)', () => {
    const SEED = Number(process.env.FUZZ_SEED ?? 22);
    const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
    const TIME_LIMIT_MS = 35_000;

    const statuses = new Map<number, number>();
    const ourId = ourIdIn('hospital-a');
    let data: Dataset;
    /** 2xx Bundles checked against the independent oracle, and the ones it could not judge. */
    const judged = { checked: 0, withMatches: 0, notJudged: 0 };
    beforeAll(async () => {
      data = new Dataset(await readNdjsonFolder(SAMPLE));
    });

    /** The Bundle's matches against the oracle's: none it does not expect, all of them when it is the last page. */
    const judge = (request: FuzzRequest, what: string, body: FuzzBundle) => {
      if (request.parameters.some((p) => p.badBytes)) return;
      const expected = expectedMatches(data, request.resourceType, request.parameters, ourId);
      if (!expected) {
        judged.notJudged++;
        return;
      }
      judged.checked++;
      if (expected.size > 0) judged.withMatches++;
      const expectedIds = new Set([...expected].map((key) => ourId(request.resourceType, key.split('/')[1])));
      const matches = (body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id);
      const unexpected = matches.filter((id) => !expectedIds.has(id!));
      if (unexpected.length > 0)
        throw new Error(
          `${what}: ${unexpected.length} match(es) the oracle does not expect, e.g. ${unexpected[0]}`,
        );
      if (body.total !== undefined && body.total !== expected.size)
        throw new Error(`${what}: total ${body.total}, the oracle expects ${expected.size}`);
      const last = !(body.link ?? []).some((l) => l.relation === 'next');
      const summary = request.parameters.some((p) => p.name === '_summary' && p.value === 'count');
      const countZero = request.parameters.some((p) => p.name === '_count' && Number(p.value) === 0);
      if (last && !summary && !countZero && matches.length !== expected.size)
        throw new Error(
          `${what}: ${matches.length} matches on the last page, the oracle expects ${expected.size}`,
        );
    };

    const check = async (request: FuzzRequest): Promise<void> => {
      const query = encodeParameters(request.parameters);
      const response =
        request.method === 'GET'
          ? await harness.http().get(`/fhir/${request.resourceType}?${query}`)
          : await harness.http().post(`/fhir/${request.resourceType}/_search`).type('form').send(query);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const what = `${request.method} ${request.resourceType}?${query} → ${response.status}`;
      if (response.status >= 500) throw new Error(`${what}: ${JSON.stringify(response.body).slice(0, 500)}`);
      if (response.type !== 'application/fhir+json')
        throw new Error(`${what}: content type ${response.type}`);
      const body = response.body as FuzzBundle;
      if (response.status >= 400) {
        if (body.resourceType !== 'OperationOutcome' || !Array.isArray(body.issue) || body.issue.length === 0)
          throw new Error(`${what}: not an OperationOutcome`);
        return;
      }
      if (response.status !== 200 || body.resourceType !== 'Bundle' || body.type !== 'searchset')
        throw new Error(`${what}: not a searchset Bundle`);
      for (const entry of body.entry ?? []) {
        if (entry.search?.mode === 'match' && entry.resource?.resourceType !== request.resourceType)
          throw new Error(`${what}: a match of type ${entry.resource?.resourceType}`);
      }
      judge(request, what, body);
    };

    it(`${RUNS} generated searches (seed ${SEED}): no 5xx, every 4xx an OperationOutcome, every 2xx a searchset Bundle whose matches the independent oracle expects`, async () => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(searchRequests(), async (request) => {
          runs++;
          await check(request);
        }),
        {
          seed: SEED,
          numRuns: RUNS,
          interruptAfterTimeLimit: TIME_LIMIT_MS,
          markInterruptAsFailure: false,
          endOnFailure: true,
        },
      );
      // Interrupted by the time limit only on a very slow machine; it must still have tried a good many.
      expect(runs).toBeGreaterThanOrEqual(100);
      // The generator reaches both sides: searches that run and requests that are refused.
      process.stdout.write(
        `search fuzz: ${runs} runs, statuses ${JSON.stringify([...statuses].sort())}, oracle ${JSON.stringify(judged)}\n`,
      );
      // The oracle judged a good share of the Bundles (token, string, date and _id searches), not only empty ones.
      expect(judged.checked).toBeGreaterThan((statuses.get(200) ?? 0) / 5);
      expect(judged.withMatches).toBeGreaterThanOrEqual(10);
      expect(statuses.get(200) ?? 0).toBeGreaterThan(runs / 5);
      expect(statuses.get(400) ?? 0).toBeGreaterThan(runs / 10);
    }, 60_000);

    it.each([
      // 500: an empty OR list made invalid SQL (42601).
      ['DiagnosticReport', [{ name: '_lastUpdated', value: ',' }]],
      ['Patient', [{ name: '_id', value: ',' }]],
      // 200 with Observations among the Immunization matches: "a OR b" of _lastUpdated escaped the AND.
      [
        'Immunization',
        [
          { name: 'series:missing', value: 'false' },
          { name: '_lastUpdated', value: '1912-10-13T23:29:18.993Z,sa2020-03,eb2020-03' },
        ],
      ],
    ] as [string, { name: string; value: string }[]][])(
      'found by the fuzz, fixed: %s %j',
      async (resourceType, parameters) => {
        for (const method of ['GET', 'POST'] as const) await check({ resourceType, method, parameters });
      },
    );

    it.each(NUL_REGRESSIONS)('regression %s holds under the same checks, by GET and by POST', async (url) => {
      const [pathPart, query] = url.split('?');
      const resourceType = pathPart.split('/')[2];
      const [name, value] = query.split('=');
      for (const method of ['GET', 'POST'] as const) {
        await check({ resourceType, method, parameters: [{ name, value: decodeURIComponent(value) }] });
      }
    });
  });
});
