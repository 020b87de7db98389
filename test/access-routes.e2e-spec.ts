import * as path from 'node:path';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { generateClientKeyPair, OWN_SCOPES } from '@fa/access';
import request from 'supertest';
import { ACCESS_POLICY, type AccessPolicy, createAggregatorApp } from '../apps/aggregator/src';
import { AggregatorHarness, FIXTURES, startAggregator } from './support/aggregator-harness';

/**
 * Every route Nest has, read from its route table (controllers, paths, methods and @Access metadata), called
 * three ways: without a token (401, or what a public route answers), with a token lacking the scope (403) and
 * with one holding just that scope (the sample's status). A route without @Access, or without a sample below,
 * fails the first test: a new route cannot ship unprotected.
 */
interface Route {
  key: string;
  policy: AccessPolicy | undefined;
}

interface Sample {
  /** The URL called (with ids from the ingested sample); a function when it needs them. */
  url: (ids: Ids) => string;
  body?: (ids: Ids) => object;
  form?: boolean;
  /** What the right token (or no token, on a public route) gets; derived samples: anything but 401, 403, 5xx. */
  status?: number;
  /** Called after the others (state-changing calls whose effect the others must not see). */
  last?: boolean;
}

interface Ids {
  patient: string;
  golden: [string, string];
  source: string;
}

const SAMPLES: Record<string, Sample> = {
  'GET /health': { url: () => '/health', status: 200 },
  'GET /ready': { url: () => '/ready', status: 200 },
  'GET /metrics': { url: () => '/metrics', status: 200 },
  'GET /fhir/metadata': { url: () => '/fhir/metadata', status: 200 },
  'GET /fhir/.well-known/smart-configuration': {
    url: () => '/fhir/.well-known/smart-configuration',
    status: 200,
  },
  'POST /auth/token': {
    url: () => '/auth/token',
    form: true,
    body: () => ({ grant_type: 'password' }),
    status: 400,
  },
  'GET /auth/jwks': { url: () => '/auth/jwks', status: 200 },
  'GET /fhir/*path': { url: () => '/fhir/Patient/x/y/z', status: 404 },
  'ALL /fhir': { url: () => '/fhir', body: () => ({}), status: 405 },
  'ALL /fhir/*path': { url: () => '/fhir/Patient', body: () => ({}), status: 405 },
  'GET /fhir/_history': { url: () => '/fhir/_history?_count=2', status: 200 },
  'GET /fhir/:type/_history': { url: () => '/fhir/Patient/_history?_count=2', status: 200 },
  'GET /fhir/:type/:id/_history': { url: (ids) => `/fhir/Patient/${ids.patient}/_history`, status: 200 },
  'GET /fhir/:type': { url: () => '/fhir/Patient?_count=1', status: 200 },
  'POST /fhir/:type/_search': {
    url: () => '/fhir/Patient/_search',
    form: true,
    body: () => ({ _count: '1' }),
    status: 200,
  },
  'GET /fhir/:type/:id': { url: (ids) => `/fhir/Patient/${ids.patient}`, status: 200 },
  'GET /fhir/:type/:id/_history/:vid': {
    url: (ids) => `/fhir/Patient/${ids.patient}/_history/1`,
    status: 200,
  },
  'GET /fhir/Patient/:id/$everything': {
    url: (ids) => `/fhir/Patient/${ids.patient}/$everything`,
    status: 200,
  },
  'GET /fhir/$mdm-query-links': {
    url: (ids) => `/fhir/$mdm-query-links?resourceId=Patient/${ids.patient}`,
    status: 200,
  },
  'GET /fhir/$mdm-link-history': {
    url: (ids) => `/fhir/$mdm-link-history?resourceId=Patient/${ids.patient}`,
    status: 200,
  },
  'POST /fhir/$mdm-update-link': {
    url: () => '/fhir/$mdm-update-link',
    body: (ids) =>
      parameters({ goldenResourceId: ids.golden[0], resourceId: ids.patient, matchResult: 'MATCH' }),
    status: 200,
  },
  'POST /fhir/$mdm-merge-golden-resources': {
    url: () => '/fhir/$mdm-merge-golden-resources',
    body: (ids) => parameters({ fromGoldenResourceId: ids.golden[1], toGoldenResourceId: ids.golden[0] }),
    status: 200,
    last: true,
  },
  'POST /fhir/ViewDefinition/$viewdefinition-run': {
    url: () => '/fhir/ViewDefinition/$viewdefinition-run',
    body: () => ({
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'viewResource',
          resource: {
            resourceType: 'ViewDefinition',
            name: 'ids',
            resource: 'Patient',
            status: 'active',
            select: [{ column: [{ name: 'id', path: 'id' }] }],
          },
        },
      ],
    }),
    status: 200,
  },
  // An audit record's id is its seq (the route table's own calls have written the first); other ids go to the store.
  'GET /fhir/AuditEvent/:id': { url: () => '/fhir/AuditEvent/1', status: 200 },
  'GET /lineage/:type/:id': { url: (ids) => `/lineage/Patient/${ids.patient}`, status: 200 },
  'GET /admin/projections': { url: () => '/admin/projections', status: 200 },
  'POST /admin/projections/:name/$rebuild': {
    url: () => '/admin/projections/analytics-views/$rebuild',
    status: 202,
    last: true,
  },
  'GET /admin/projections/fhir-store/digest': {
    url: () => '/admin/projections/fhir-store/digest',
    status: 200,
  },
  'GET /admin/rejections/:source': { url: () => '/admin/rejections/sample', status: 200 },
  'GET /admin/identity/reviews': { url: () => '/admin/identity/reviews', status: 200 },
  'GET /admin/clients': { url: () => '/admin/clients', status: 200 },
  'POST /admin/clients': {
    url: () => '/admin/clients',
    body: (ids) => ({ clientId: 'route-table-new', scope: 'system/*.rs', jwks: JSON.parse(ids.source) }),
    status: 201,
  },
  'POST /admin/clients/:clientId/$rotate-keys': {
    url: () => '/admin/clients/route-table/$rotate-keys',
    body: (ids) => ({ jwks: JSON.parse(ids.source) }),
    status: 201,
  },
  'POST /admin/clients/:clientId/$revoke': {
    url: () => '/admin/clients/route-table/$revoke',
    body: () => ({}),
    status: 201,
    last: true,
  },
};

/**
 * A route added without a sample here (another context's, merged later) is still called: its path with the
 * sample patient for `:id`, Patient for `:type`, `x` for any other parameter. Its 401 and 403 are checked as
 * for every route; with the right token it must answer neither, nor a 5xx.
 */
function sampleFor(route: Route): Sample {
  const known = SAMPLES[route.key];
  if (known) return known;
  const template = route.key.split(' ')[1];
  return {
    url: (ids) =>
      template
        .replace(':type', 'Patient')
        .replace(':id', ids.patient)
        .replace(/:\w+|\*\w+/g, 'x'),
    body: /^(GET|DELETE) /.test(route.key) ? undefined : () => ({}),
  };
}

function parameters(values: Record<string, string>) {
  return {
    resourceType: 'Parameters',
    parameter: Object.entries(values).map(([name, valueString]) => ({ name, valueString })),
  };
}

const ALL_OWN = [...OWN_SCOPES];

/** The sample's status, or for a derived sample: served (not refused, not failed). */
function answered(sample: Sample, status: number): boolean {
  return sample.status === undefined
    ? status !== 401 && status !== 403 && status < 500
    : status === sample.status;
}

/** A token that lacks what the policy needs, and one that holds just that. */
function scopesFor(policy: AccessPolicy): { lacking: string; right: string } {
  if ('public' in policy) throw new Error('public');
  if ('scope' in policy)
    return {
      lacking: ['system/*.cruds', ...ALL_OWN.filter((s) => s !== policy.scope)].join(' '),
      right: policy.scope,
    };
  const type = policy.resource === ':type' || policy.resource === '*' ? 'Patient' : policy.resource;
  const other =
    policy.resource === '*'
      ? `system/*.${policy.permission === 's' ? 'r' : 's'}`
      : `system/Observation.cruds`;
  // The types an answer holds unfiltered (policy.reads) are read whole too.
  const reads = (policy.reads ?? []).filter((t) => t !== type).map((t) => `system/${t}.r`);
  return {
    lacking: [other, ...ALL_OWN].join(' '),
    right: [`system/${type}.${policy.permission}`, ...reads].join(' '),
  };
}

function routeTable(harness: AggregatorHarness): Route[] {
  const discovery = harness.app.get(DiscoveryService);
  const scanner = harness.app.get(MetadataScanner);
  const routes: Route[] = [];
  for (const wrapper of discovery.getControllers()) {
    const type = wrapper.metatype as (new () => object) | undefined;
    if (!type?.prototype) continue;
    const base = String(Reflect.getMetadata(PATH_METADATA, type) ?? '');
    for (const name of scanner.getAllMethodNames(type.prototype)) {
      const handler = (type.prototype as Record<string, unknown>)[name] as object;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (paths === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      for (const p of Array.isArray(paths) ? paths : [paths]) {
        const full = `/${[base, p].filter(Boolean).join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
        routes.push({ key: `${method} ${full}`, policy: Reflect.getMetadata(ACCESS_POLICY, handler) });
      }
    }
  }
  return routes;
}

describe('every route, from the route table: 401 without a token, 403 without the scope, served with it', () => {
  let harness: AggregatorHarness;
  let routes: Route[];
  let ids: Ids;
  const tokens = new Map<string, string>();
  const tokenFor = async (scope: string) => {
    if (!tokens.has(scope)) tokens.set(scope, await harness.tokenFor(scope));
    return tokens.get(scope)!;
  };

  const call = (route: Route, sample: Sample, token: string | false) => {
    const [method] = route.key.split(' ');
    const http = harness.http({ token });
    const url = sample.url(ids);
    const request =
      method === 'GET'
        ? http.get(url)
        : method === 'ALL' || method === 'DELETE'
          ? http.delete(url)
          : http.post(url);
    if (!sample.body) return request;
    return sample.form ? request.type('form').send(sample.body(ids)) : request.send(sample.body(ids));
  };

  beforeAll(async () => {
    harness = await startAggregator();
    await harness.ingest('sample', [path.join(FIXTURES, 'synthea-2-patients')]);
    routes = routeTable(harness);
    const patients = await harness.http().get('/fhir/Patient?_count=10').expect(200);
    const sourcePatients = (patients.body.entry as { resource: { id: string } }[]).map((e) => e.resource.id);
    const golden: string[] = [];
    for (const id of sourcePatients) {
      const links = await harness.http().get(`/fhir/$mdm-query-links?resourceId=Patient/${id}`).expect(200);
      const goldenRef = links.body.parameter
        .find((p: { name: string }) => p.name === 'link')
        .part.find((p: { name: string }) => p.name === 'goldenResourceId');
      golden.push(goldenRef.valueString);
    }
    const keys = await generateClientKeyPair('ES384');
    await harness
      .http()
      .post('/admin/clients')
      .send({ clientId: 'route-table', scope: 'system/*.rs', jwks: keys.publicJwks })
      .expect(201);
    ids = {
      patient: sourcePatients[0],
      golden: [golden[0], golden[1]],
      source: JSON.stringify(keys.publicJwks),
    };
    expect(new Set(golden).size).toBe(2);
  });
  afterAll(() => harness?.close());

  it('finds an @Access policy on every route, and a route for every sample', () => {
    expect(routes.length).toBeGreaterThan(30);
    expect(routes.filter((r) => !r.policy).map((r) => r.key)).toEqual([]);
    expect(Object.keys(SAMPLES).filter((key) => !routes.some((r) => r.key === key))).toEqual([]);
  });

  it('answers every protected route 401 with WWW-Authenticate: Bearer without a token; public ones serve', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const sample = sampleFor(route);
      if (!route.policy) continue;
      const response = await call(route, sample, false);
      if ('public' in route.policy) {
        if (!answered(sample, response.status)) wrong.push(`${route.key}: public, got ${response.status}`);
        continue;
      }
      if (response.status !== 401 || !/^Bearer /.test(response.headers['www-authenticate'] ?? ''))
        wrong.push(`${route.key}: got ${response.status}`);
      else if (response.body.resourceType !== 'OperationOutcome')
        wrong.push(`${route.key}: no OperationOutcome`);
    }
    expect(wrong).toEqual([]);
  });

  it('answers every protected route 403 with a token lacking its scope', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const sample = sampleFor(route);
      if (!route.policy || 'public' in route.policy) continue;
      const response = await call(route, sample, await tokenFor(scopesFor(route.policy).lacking));
      if (response.status !== 403 || response.body.issue?.[0]?.code !== 'forbidden')
        wrong.push(`${route.key}: got ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('serves every protected route to a token holding just its scope', async () => {
    const wrong: string[] = [];
    const ordered = [...routes].sort(
      (a, b) => Number(!!SAMPLES[a.key]?.last) - Number(!!SAMPLES[b.key]?.last),
    );
    for (const route of ordered) {
      const sample = sampleFor(route);
      if (!route.policy || 'public' in route.policy) continue;
      const { right } = scopesFor(route.policy);
      // A view reads its resource type: $viewdefinition-run needs search on it as well as the analytics scope.
      const scope = route.key.includes('viewdefinition-run') ? `${right} system/Patient.s` : right;
      const response = await call(route, sample, await tokenFor(scope));
      if (!answered(sample, response.status))
        wrong.push(
          `${route.key} with ${scope}: got ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`,
        );
    }
    expect(wrong).toEqual([]);
  });

  it('with AUTH=off serves without a token, as a local principal with every scope, and says so in metadata', async () => {
    const open = await createAggregatorApp(harness.runtime, { auth: { enabled: false } });
    await open.init();
    try {
      await request(open.getHttpServer()).get(`/fhir/Patient/${ids.patient}/$everything`).expect(200);
      await request(open.getHttpServer()).get('/admin/projections').expect(200);
      const metadata = await request(open.getHttpServer()).get('/fhir/metadata').expect(200);
      expect(metadata.body.rest[0].security).toEqual({ description: expect.stringMatching(/^AUTH=off/) });
    } finally {
      await open.close();
    }
  });

  describe('answers across types hold only what the token may read, and say so', () => {
    const EXAM = 'system/Patient.rs system/Observation.rs?category=exam';
    const suppressed = (bundle: {
      entry?: { resource: { resourceType: string; issue?: { code: string; diagnostics: string }[] } }[];
    }) =>
      bundle.entry
        ?.find((e) => e.resource.resourceType === 'OperationOutcome')
        ?.resource.issue?.find((i) => i.code === 'suppressed')?.diagnostics;
    const types = (bundle: { entry?: { resource: { resourceType: string } }[] }) =>
      new Set(
        (bundle.entry ?? []).map((e) => e.resource.resourceType).filter((t) => t !== 'OperationOutcome'),
      );

    it('narrows a search by a granular scope (category=exam) and refuses reading other Observations', async () => {
      const token = await tokenFor(EXAM);
      const all = await harness.http().get('/fhir/Observation?_count=100&_total=accurate').expect(200);
      const exams = await harness
        .http()
        .get('/fhir/Observation?category=exam&_count=100&_total=accurate')
        .expect(200);
      const narrowed = await harness
        .http({ token })
        .get('/fhir/Observation?_count=100&_total=accurate')
        .expect(200);
      expect(exams.body.total).toBe(2);
      expect(all.body.total).toBeGreaterThan(exams.body.total);
      expect(narrowed.body.total).toBe(exams.body.total);
      const survey = (
        all.body.entry as { resource: { id: string; category: { coding: { code: string }[] }[] } }[]
      ).find((e) => e.resource.category[0].coding[0].code === 'survey')!;
      await harness.http({ token }).get(`/fhir/Observation/${survey.resource.id}`).expect(403);
      await harness.http({ token }).get(`/fhir/Observation/${exams.body.entry[0].resource.id}`).expect(200);
    });

    it('refuses $summary, the timeline and the claims answer to a token that cannot read every type they hold whole', async () => {
      const patientOnly = await tokenFor('system/Patient.r');
      const summary = await harness
        .http({ token: patientOnly })
        .get(`/fhir/Patient/${ids.patient}/$summary`)
        .expect(403);
      expect(summary.body.issue[0].diagnostics).toMatch(/holds Condition, .*Observation.* unfiltered/);
      await harness
        .http({ token: patientOnly })
        .get(`/clinical/patients/${ids.patient}/timeline`)
        .expect(403);
      const granular = await tokenFor(
        'system/Patient.r system/Condition.r system/AllergyIntolerance.r system/MedicationRequest.r system/MedicationStatement.r system/Immunization.r system/Observation.r?category=laboratory system/Procedure.r system/DiagnosticReport.r system/Encounter.r',
      );
      const narrowed = await harness
        .http({ token: granular })
        .get(`/fhir/Patient/${ids.patient}/$summary`)
        .expect(403);
      expect(narrowed.body.issue[0].diagnostics).toMatch(/holds Observation unfiltered/);
      const claimsOnly = await tokenFor('system/Claim.s');
      const claims = await harness
        .http({ token: claimsOnly })
        .get(`/revenue-cycle/patients/${ids.patient}/claims`)
        .expect(403);
      expect(claims.body.issue[0].diagnostics).toMatch(/ExplanationOfBenefit, ClaimResponse/);
    });

    it('keeps $everything to the types (and granular constraints) the token reads', async () => {
      const full = await harness
        .http()
        .get(`/fhir/Patient/${ids.patient}/$everything?_count=1000`)
        .expect(200);
      expect(types(full.body).size).toBeGreaterThan(3);
      const narrow = await harness
        .http({ token: await tokenFor(EXAM) })
        .get(`/fhir/Patient/${ids.patient}/$everything?_count=1000`)
        .expect(200);
      expect(types(narrow.body)).toEqual(new Set(['Patient', 'Observation']));
      for (const entry of narrow.body.entry.filter(
        (e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Observation',
      ))
        expect(entry.resource.category[0].coding[0].code).toBe('exam');
      expect(suppressed(narrow.body)).toMatch(
        /Limited to the types the token may read \(Observation, Patient\)/,
      );
    });

    it('withholds _revinclude-d types the token cannot read, and history of other types', async () => {
      const token = await tokenFor('system/Patient.rs');
      const search = await harness
        .http({ token })
        .get(`/fhir/Patient?_id=${ids.patient}&_revinclude=Observation:subject`)
        .expect(200);
      expect(types(search.body)).toEqual(new Set(['Patient']));
      expect(suppressed(search.body)).toMatch(/withheld: \d+ Observation/);
      const history = await harness.http({ token }).get('/fhir/_history?_count=50').expect(200);
      expect(types(history.body)).toEqual(new Set(['Patient']));
      expect(suppressed(history.body)).toMatch(/withheld/);
      await harness.http({ token }).get('/fhir/Observation/_history').expect(403);
    });

    it('answers lineage of a type only to a token that reads it', async () => {
      const observation = (await harness.http().get('/fhir/Observation?_count=1').expect(200)).body.entry[0]
        .resource.id;
      const token = await tokenFor('system/Provenance.rs system/Patient.rs');
      await harness.http({ token }).get(`/fhir/Provenance?target=Patient/${ids.patient}`).expect(200);
      await harness.http({ token }).get(`/fhir/Provenance?target=Observation/${observation}`).expect(403);
      await harness.http({ token }).get(`/lineage/Observation/${observation}`).expect(403);
    });

    it("records the token's client as the reviewer of an identity decision, whatever X-Reviewer says", async () => {
      await harness
        .http()
        .post('/fhir/$mdm-update-link')
        .set('X-Reviewer', 'mallory')
        .send(
          parameters({ goldenResourceId: ids.golden[0], resourceId: ids.patient, matchResult: 'NO_MATCH' }),
        )
        .expect(200);
      const history = await harness
        .http()
        .get(`/fhir/$mdm-link-history?resourceId=Patient/${ids.patient}`)
        .expect(200);
      const decidedBy = JSON.stringify(history.body);
      expect(decidedBy).toContain('reviewer:test-client');
      expect(decidedBy).not.toContain('mallory');
    });
  });
});
