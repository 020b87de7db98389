import type { CapabilityStatement, OperationDefinition } from 'fhir/r4';
import { AggregatorHarness, startAggregator } from './support/aggregator-harness';

/** Every route the HTTP app serves, as "<METHOD> <path>", read from Express's own router. */
function routeTable(harness: AggregatorHarness): string[] {
  const express = harness.app.getHttpAdapter().getInstance() as {
    router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
  };
  return express.router.stack
    .filter((layer) => layer.route)
    .flatMap((layer) =>
      Object.keys(layer.route!.methods).map((method) => `${method.toUpperCase()} ${layer.route!.path}`),
    );
}

/** Types a URL can carry (FHIR primitives, and a Reference as Type/id); any other input needs a body. */
const URL_TYPES =
  /^(boolean|code|date|dateTime|decimal|id|instant|integer|positiveInt|string|unsignedInt|uri|url|Reference)$/;

/**
 * The route an OperationDefinition declares, by FHIR's rule restated here: GET when it does not affect state and
 * every input can be written in a URL, else POST (a resource input such as $viewdefinition-run's viewResource).
 */
function declaredRoute(definition: OperationDefinition): string {
  const inputsInUrl = (definition.parameter ?? [])
    .filter((p) => p.use === 'in')
    .every((p) => URL_TYPES.test(p.type ?? ''));
  const method = definition.affectsState || !inputsInUrl ? 'POST' : 'GET';
  if (definition.system) return `${method} /fhir/$${definition.code}`;
  const type = definition.resource![0];
  return `${method} /fhir/${type}${definition.instance ? '/:id' : ''}/$${definition.code}`;
}

describe('FHIR operations: each declared once by an OperationDefinition', () => {
  let harness: AggregatorHarness;
  let statement: CapabilityStatement;
  let definitions: OperationDefinition[];

  beforeAll(async () => {
    harness = await startAggregator();
    statement = (await harness.http().get('/fhir/metadata').expect(200)).body as CapabilityStatement;
    const listed = [
      ...(statement.rest![0].operation ?? []),
      ...statement.rest![0].resource!.flatMap((r) => r.operation ?? []),
    ];
    definitions = await Promise.all(
      listed.map(async (operation) => {
        const id = operation.definition.split('/').pop()!;
        const read = await harness.http().get(`/fhir/OperationDefinition/${id}`).expect(200);
        expect(read.body.url).toBe(operation.definition);
        expect(read.body.code).toBe(operation.name);
        return read.body as OperationDefinition;
      }),
    );
  });
  afterAll(() => harness.close());

  it('lists exactly the $ routes the app serves, each with a readable definition', () => {
    const operationRoutes = routeTable(harness).filter((route) => / \/fhir\/.*\$/.test(route));
    expect(operationRoutes.length).toBeGreaterThanOrEqual(5);
    // FHIR lets any operation be POSTed with a Parameters body; Bulk Data's kick-off is served both ways.
    const declared = definitions.map(declaredRoute);
    const postForms = declared.filter((r) => r.startsWith('GET ')).map((r) => r.replace(/^GET /, 'POST '));
    for (const route of new Set(operationRoutes)) expect([...declared, ...postForms]).toContain(route);
    for (const route of declared) expect(operationRoutes).toContain(route);
    expect(operationRoutes).toEqual(
      expect.arrayContaining([
        'POST /fhir/$export',
        'POST /fhir/Patient/$export',
        'POST /fhir/Group/:id/$export',
      ]),
    );
    expect(statement.instantiates).toEqual(['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data']);
    expect(definitions.map((d) => d.code).sort()).toEqual([
      'clinical-fact-split',
      'duplicate-claim-review',
      'everything',
      'export',
      'export',
      'export',
      'mdm-link-history',
      'mdm-merge-golden-resources',
      'mdm-query-links',
      'mdm-update-link',
      'summary',
      'viewdefinition-run',
    ]);
    expect(definitions.map(declaredRoute)).toContain('POST /fhir/ViewDefinition/$viewdefinition-run');
    expect(definitions.map(declaredRoute)).toContain('POST /fhir/DetectedIssue/:id/$duplicate-claim-review');
    const patient = statement.rest![0].resource!.find((r) => r.type === 'Patient')!;
    expect(patient.operation!.map((o) => o.name)).toEqual(['everything', 'export', 'summary']);
    expect(statement.rest![0].operation!.map((o) => o.definition)).toContain(
      definitions.find((d) => d.id === 'export')!.url,
    );
  });

  it('validates each GET operation input by its definition: a malformed typed value is 400 naming it', async () => {
    const samples: Record<string, string> = {
      unsignedInt: 'minus-one',
      positiveInt: '0',
      integer: 'x',
      instant: 'not-a-date',
      dateTime: 'not-a-date',
      date: 'not-a-date',
      boolean: 'maybe',
    };
    let checked = 0;
    for (const definition of definitions.filter((d) => declaredRoute(d).startsWith('GET '))) {
      const path = declaredRoute(definition).split(' ')[1].replace(':id', 'some-id');
      for (const parameter of (definition.parameter ?? []).filter((p) => p.use === 'in')) {
        const bad = samples[parameter.type ?? ''];
        if (!bad) continue;
        const response = await harness.http().get(`${path}?${parameter.name}=${bad}`);
        expect([parameter.name, response.status]).toEqual([parameter.name, 400]);
        expect(response.body.issue[0].expression).toEqual([parameter.name]);
        checked++;
      }
      const repeated = definition.parameter!.find((p) => p.use === 'in' && p.max === '1')!;
      const twice = await harness.http().get(`${path}?${repeated.name}=a&${repeated.name}=b`);
      expect(twice.status).toBe(400);
      expect(twice.body.issue[0].diagnostics).toMatch(/only once/);
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('rejects parameters a definition does not declare under Prefer: handling=strict, and reports them otherwise', async () => {
    await harness.ingest('ops', []);
    const strict = await harness
      .http()
      .get('/fhir/$mdm-query-links?bogus=1')
      .set('Prefer', 'handling=strict')
      .expect(400);
    expect(strict.body.issue[0].expression).toEqual(['bogus']);
    await harness.http().get('/fhir/$mdm-query-links?bogus=1').expect(200);
    const required = await harness
      .http()
      .post('/fhir/$mdm-merge-golden-resources')
      .send({
        resourceType: 'Parameters',
        parameter: [{ name: 'toGoldenResourceId', valueString: 'Patient/x' }],
      })
      .expect(400);
    expect(required.body.issue[0].expression).toEqual(['fromGoldenResourceId']);
  });

  it('answers unknown operations and OperationDefinitions with 404 OperationOutcomes', async () => {
    const unknown = await harness.http().get('/fhir/Patient/some-id/$frobnicate').expect(404);
    expect(unknown.body.issue[0].diagnostics).toMatch(/Unknown operation "\$frobnicate"/);
    await harness.http().get('/fhir/OperationDefinition/no-such-operation').expect(404);
  });
});
