import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Bundle, Provenance, Resource } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import { AggregatorHarness, FIXTURES, startAggregator } from './support/aggregator-harness';

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
const SOURCE = 'hospital-a';
const CORRECTED = { url: 'http://example.org/corrected-by-source', valueBoolean: true };

/** The documented id rule, restated here rather than imported: UUIDv5 of "source|type|id". */
const ourId = (type: string, id: string) => uuidv5(`${SOURCE}|${type}|${id}`, AGGREGATOR_NAMESPACE);

async function readNdjsonFolder(folder: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const name of (await fs.readdir(folder)).sort()) {
    const text = await fs.readFile(path.join(folder, name), 'utf8');
    for (const line of text.split('\n')) if (line.trim()) out.push(JSON.parse(line));
  }
  return out;
}

/** What the documented rewrites make of a source resource, computed independently of the server's code. */
function expectedFromSource(source: Record<string, unknown>): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(source), (key, value) => {
    if (key === 'reference' && typeof value === 'string') {
      const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]+)$/.exec(value);
      return m ? `${m[1]}/${ourId(m[1], m[2])}` : value;
    }
    return value;
  });
  const type = copy.resourceType as string;
  copy.id = ourId(type, source.id as string);
  const { versionId: _v, lastUpdated: _l, ...meta } = (copy.meta ?? {}) as Record<string, unknown>;
  copy.meta = { ...meta, source: `urn:fhir-aggregator:source:${SOURCE}#${type}/${source.id}` };
  return copy;
}

function withoutOurVersionMeta(resource: Resource): Record<string, unknown> {
  const { versionId: _v, lastUpdated: _l, ...meta } = resource.meta ?? {};
  return { ...resource, meta };
}

async function followHistory(harness: AggregatorHarness, url: string): Promise<Bundle[]> {
  const pages: Bundle[] = [];
  let next: string | undefined = url;
  while (next) {
    const relative: string = next.replace(/^https?:\/\/[^/]+/, '');
    const response = await harness.http().get(relative).expect(200);
    pages.push(response.body as Bundle);
    next = (response.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
  }
  return pages;
}

describe('FHIR API over the temporal store (service over HTTP, real PostgreSQL)', () => {
  let harness: AggregatorHarness;
  let sourceResources: Record<string, unknown>[];

  beforeAll(async () => {
    harness = await startAggregator();
    sourceResources = await readNdjsonFolder(SAMPLE);
    const result = await harness.ingest(SOURCE, [SAMPLE]);
    expect(result).toMatchObject({
      read: sourceResources.length,
      recorded: sourceResources.length,
      rejected: [],
    });
  });
  afterAll(() => harness.close());

  it('reads every ingested resource back equal to its source apart from the documented id/reference rewrites', async () => {
    for (const source of sourceResources) {
      const type = source.resourceType as string;
      const response = await harness
        .http()
        .get(`/fhir/${type}/${ourId(type, source.id as string)}`)
        .expect(200);
      expect(response.headers['content-type']).toMatch(/application\/fhir\+json/);
      expect(response.headers.etag).toBe('W/"1"');
      expect(withoutOurVersionMeta(response.body)).toEqual(expectedFromSource(source));
    }
  });

  it('times every request: Server-Timing on the response, and a histogram by route pattern on /metrics', async () => {
    const patient = sourceResources.find((r) => r.resourceType === 'Patient')!;
    const read = await harness
      .http()
      .get(`/fhir/Patient/${ourId('Patient', patient.id as string)}`)
      .expect(200);
    expect(read.headers['server-timing']).toMatch(/^app;dur=\d+\.\d{2}$/);
    const missing = await harness.http().get('/fhir/Patient/no-such-id').expect(404);
    expect(missing.headers['server-timing']).toMatch(/^app;dur=/);
    const metrics = await harness.http().get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/fhir\/:type\/:id",status="200"\} [1-9]/,
    );
    expect(metrics.text).toMatch(/route="\/fhir\/:type\/:id",status="404"/);
    expect(metrics.text).not.toContain(ourId('Patient', patient.id as string));
  });

  it('counts every version in type-level _history totals', async () => {
    const perType = new Map<string, number>();
    for (const r of sourceResources)
      perType.set(r.resourceType as string, (perType.get(r.resourceType as string) ?? 0) + 1);
    for (const [type, count] of perType) {
      const response = await harness.http().get(`/fhir/${type}/_history?_count=0`).expect(200);
      expect({ type, total: response.body.total }).toEqual({ type, total: count });
    }
  });

  it('records nothing new when the same files are ingested again', async () => {
    const again = await harness.ingest(SOURCE, [SAMPLE]);
    expect(again).toMatchObject({ recorded: 0, unchanged: sourceResources.length });
    const system = await harness.http().get('/fhir/_history?_count=0').expect(200);
    expect(system.body.total).toBe(sourceResources.length);
  });

  it('pages system _history through next links to the end: every version once, newest first', async () => {
    const pages = await followHistory(harness, '/fhir/_history?_count=37');
    const urls = pages.flatMap((p) => (p.entry ?? []).map((e) => `${e.fullUrl}|${e.response?.etag}`));
    expect(urls.length).toBe(sourceResources.length);
    expect(new Set(urls).size).toBe(urls.length);
    const times = pages.flatMap((p) => (p.entry ?? []).map((e) => Date.parse(e.response!.lastModified!)));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  describe('a changed copy of 100 resources', () => {
    let changedFile: string;
    let between: string;
    let observations: Record<string, unknown>[];

    beforeAll(async () => {
      // Mixed types; the Patient and Encounter used by the delete tests stay out.
      observations = sourceResources
        .filter((r) => !['Patient', 'Encounter'].includes(r.resourceType as string))
        .slice(0, 100);
      expect(observations.length).toBe(100);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-changed-'));
      changedFile = path.join(dir, 'Observation-corrected.ndjson');
      const changed = observations.map((o) => ({
        ...o,
        extension: [...((o.extension as unknown[]) ?? []), CORRECTED],
      }));
      await fs.writeFile(changedFile, changed.map((o) => JSON.stringify(o)).join('\n') + '\n');
      await new Promise((resolve) => setTimeout(resolve, 10));
      between = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 10));
      const result = await harness.ingest(SOURCE, [changedFile]);
      expect(result).toMatchObject({ recorded: 100, unchanged: 0 });
    });

    it('gives each two versions; _asOf between the ingests returns version 1, after returns version 2', async () => {
      for (const o of observations) {
        const type = o.resourceType as string;
        const url = `/fhir/${type}/${ourId(type, o.id as string)}`;
        const history = await harness.http().get(`${url}/_history`).expect(200);
        expect(history.body.total).toBe(2);
        const before = await harness.http().get(`${url}?_asOf=${between}`).expect(200);
        expect(before.body.meta.versionId).toBe('1');
        expect(before.body.extension ?? []).not.toContainEqual(CORRECTED);
        const now = await harness.http().get(`${url}?_asOf=${new Date().toISOString()}`).expect(200);
        expect(now.body.meta.versionId).toBe('2');
        expect(now.body.extension).toContainEqual(CORRECTED);
        const vread = await harness.http().get(`${url}/_history/1`).expect(200);
        expect(withoutOurVersionMeta(vread.body)).toEqual(expectedFromSource(o));
      }
    });

    it('names both files in the Provenance of the two versions, and in the lineage JSON', async () => {
      const type = observations[0].resourceType as string;
      const id = ourId(type, observations[0].id as string);
      const bundle = (await harness.http().get(`/fhir/Provenance?target=${type}/${id}`).expect(200))
        .body as Bundle;
      const provenances = bundle.entry!.map((e) => e.resource as Provenance);
      expect(provenances.map((p) => p.target[0].reference)).toEqual([
        `${type}/${id}/_history/1`,
        `${type}/${id}/_history/2`,
      ]);
      const files = provenances.map(
        (p) =>
          p.extension!.find((e) => e.url.endsWith('/origin-file'))!.extension!.find((e) => e.url === 'path')!
            .valueString,
      );
      expect(files).toEqual([path.join(SAMPLE, `${type}.ndjson`), changedFile]);
      expect(provenances[0].agent[0].who!.identifier!.value).toBe(SOURCE);
      expect(provenances[0].entity![0].what.identifier!.value).toBe(`${type}/${observations[0].id}`);
      const asOf = await harness
        .http()
        .get(`/fhir/Provenance?target=${type}/${id}&_asOf=${between}`)
        .expect(200);
      expect(asOf.body.total).toBe(1);
      const lineage = await harness.http().get(`/lineage/${type}/${id}`).expect(200);
      expect(
        lineage.body.versions.map((v: { origin: { file: { path: string } } }) => v.origin.file.path),
      ).toEqual(files);
      expect(lineage.body.versions[0].contentHash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('answers _history with _since and _at by record time', async () => {
      const since = await harness.http().get(`/fhir/_history?_since=${between}&_count=0`).expect(200);
      expect(since.body.total).toBe(100);
      const type = observations[0].resourceType as string;
      const id = ourId(type, observations[0].id as string);
      const at = await harness.http().get(`/fhir/${type}/${id}/_history?_at=${between}`).expect(200);
      expect(at.body.entry.map((e: { response: { etag: string } }) => e.response.etag)).toEqual(['W/"1"']);
    });
  });

  describe('deletes and late versions from a source', () => {
    let patientId: string;
    let encounterId: string;
    let beforeDelete: string;

    beforeAll(async () => {
      const encounter = sourceResources.find((r) => r.resourceType === 'Encounter')!;
      const patient = sourceResources.find((r) => r.resourceType === 'Patient')!;
      encounterId = ourId('Encounter', encounter.id as string);
      patientId = ourId('Patient', patient.id as string);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-delete-'));
      const bundleFile = path.join(dir, 'delete.json');
      await fs.writeFile(
        bundleFile,
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ request: { method: 'DELETE', url: `Encounter/${encounter.id}` } }],
        }),
      );
      const newer = { ...patient, meta: { lastUpdated: '2030-01-01T00:00:00Z' }, gender: 'other' };
      const older = { ...patient, meta: { lastUpdated: '2000-01-01T00:00:00Z' }, gender: 'unknown' };
      const newerFile = path.join(dir, 'newer.ndjson');
      const olderFile = path.join(dir, 'older.ndjson');
      await fs.writeFile(newerFile, JSON.stringify(newer) + '\n');
      await fs.writeFile(olderFile, JSON.stringify(older) + '\n');
      beforeDelete = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await harness.ingest(SOURCE, [bundleFile])).toMatchObject({ deleted: 1 });
      await harness.ingest(SOURCE, [newerFile]);
      await harness.ingest(SOURCE, [olderFile]);
    });

    it('reads a deleted resource as 410 with its history intact and its past readable', async () => {
      const gone = await harness.http().get(`/fhir/Encounter/${encounterId}`).expect(410);
      expect(gone.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'deleted' }] });
      const history = await harness.http().get(`/fhir/Encounter/${encounterId}/_history`).expect(200);
      expect(history.body.entry.map((e: { request: { method: string } }) => e.request.method)).toEqual([
        'DELETE',
        'POST',
      ]);
      await harness.http().get(`/fhir/Encounter/${encounterId}/_history/1`).expect(200);
      await harness.http().get(`/fhir/Encounter/${encounterId}/_history/2`).expect(410);
      await harness.http().get(`/fhir/Encounter/${encounterId}?_asOf=${beforeDelete}`).expect(200);
      await harness
        .http()
        .get(`/fhir/Encounter/${encounterId}?_asOf=${new Date().toISOString()}`)
        .expect(410);
    });

    it('keeps a late version (older by the source clock) in history without making it current', async () => {
      const current = await harness.http().get(`/fhir/Patient/${patientId}`).expect(200);
      expect(current.body.gender).toBe('other');
      const lineage = await harness.http().get(`/lineage/Patient/${patientId}`).expect(200);
      const last = lineage.body.versions[lineage.body.versions.length - 1];
      expect(last).toMatchObject({ supersedesCurrent: false, sourceLastUpdated: '2000-01-01T00:00:00Z' });
      expect(last.currentUntil).toBe(last.recordedAt);
    });

    it('answers _asOf before a resource existed with 404', async () => {
      const response = await harness.http().get(`/fhir/Patient/${patientId}?_asOf=2001-01-01`).expect(404);
      expect(response.body.issue[0].diagnostics).toMatch(/did not exist at 2001-01-01T23:59:59.999Z/);
    });
  });

  it('rejects bad requests with a specific OperationOutcome and never answers 500', async () => {
    const cases: [string, number, RegExp][] = [
      ['/fhir/Patient/abc?_asOf=yesterday', 400, /_asOf must be a FHIR date/],
      ['/fhir/Patient/abc?_asOf=2024-01-01&_asOf=2024-02-01', 400, /_asOf may be given only once/],
      ['/fhir/Patient/_history?_count=-1', 400, /_count must be a non-negative integer/],
      ['/fhir/Patient/_history?_since=2024-13-01', 400, /_since must be a FHIR instant/],
      ['/fhir/Patient/_history?_cursor=1;DROP TABLE', 400, /_cursor/],
      [`/fhir/Patient/${'x'.repeat(65)}`, 400, /Invalid id/],
      ['/fhir/Unicorn/1', 404, /Unknown resource type/],
      ['/fhir/Patient/does-not-exist', 404, /not known/],
      ['/fhir/Patient/does-not-exist/_history', 404, /not known/],
      ['/fhir/Patient/abc/_history/0', 404, /does not exist/],
      ['/fhir/Provenance?target=http://evil/Patient/1', 400, /relative reference/],
      ["/fhir/Patient/1'--", 400, /Invalid id/],
    ];
    for (const [url, status, message] of cases) {
      const response = await harness.http().get(url);
      expect({ url, status: response.status }).toEqual({ url, status });
      expect(response.body.resourceType).toBe('OperationOutcome');
      expect(response.body.issue[0].diagnostics).toMatch(message);
    }
    const write = await harness.http().post('/fhir/Patient').send({ resourceType: 'Patient' });
    expect(write.status).toBe(405);
    expect(write.body.issue[0].code).toBe('not-supported');
  });

  it("lists a source's rejected records, newest first, with their file lines and reasons", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-rejects-'));
    const file = path.join(dir, 'bad.ndjson');
    await fs.writeFile(
      file,
      ['{not json', JSON.stringify({ resourceType: 'Unicorn', id: 'u' })].join('\n') + '\n',
    );
    await harness.ingest('lab-rejects', [file]);
    const response = await harness.http().get('/admin/rejections/lab-rejects?limit=10').expect(200);
    expect(
      response.body.rejections.map((r: { code: string; origin: { file: { line: number } } }) => [
        r.code,
        r.origin.file.line,
      ]),
    ).toEqual([
      ['unknown-resource-type', 2],
      ['not-json', 1],
    ]);
    await harness.http().get('/admin/rejections/lab-rejects?limit=abc').expect(400);
    await harness.http().get('/admin/rejections/lab-rejects?limit=5000').expect(400);
    await harness.http().get('/admin/rejections/bad%20source').expect(400);
  });

  it('serves a CapabilityStatement, health and readiness, and an OpenAPI document', async () => {
    const metadata = await harness.http().get('/fhir/metadata').expect(200);
    expect(metadata.body).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1' });
    const patient = metadata.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patient.interaction.map((i: { code: string }) => i.code)).toEqual([
      'read',
      'vread',
      'history-instance',
      'history-type',
      'search-type',
    ]);
    expect(patient.operation).toEqual([
      expect.objectContaining({ name: 'everything' }),
      expect.objectContaining({ name: 'export', definition: expect.stringMatching(/\/patient-export$/) }),
      expect.objectContaining({ name: 'summary' }),
    ]);
    await harness.http().get('/health').expect(200);
    await harness.http().get('/ready').expect(200);
    const openapi = await harness.http().get('/openapi.json').expect(200);
    expect(Object.keys(openapi.body.paths)).toContain('/admin/projections/{name}/$rebuild');
  });

  it('rebuilds fhir-store with identical content while a loop of reads sees no error', async () => {
    const before = (await harness.http().get('/admin/projections/fhir-store/digest').expect(200)).body;
    const fhirStoreStatus = async () =>
      (
        (await harness.http().get('/admin/projections').expect(200)).body as {
          name: string;
          activeGeneration: number;
          rebuild?: unknown;
        }[]
      ).find((p) => p.name === 'fhir-store')!;
    const statusBefore = await fhirStoreStatus();
    const sampleIds = sourceResources
      .slice(0, 50)
      .map((r) => `/fhir/${r.resourceType}/${ourId(r.resourceType as string, r.id as string)}`);
    let reading = true;
    let reads = 0;
    const failures: string[] = [];
    const readLoop = (async () => {
      while (reading) {
        const url = sampleIds[reads % sampleIds.length];
        const response = await harness.http().get(reads % 3 === 0 ? `${url}/_history` : url);
        if (response.status !== 200 && response.status !== 410) failures.push(`${url}: ${response.status}`);
        reads++;
      }
    })();
    const started = await harness.http().post('/admin/projections/fhir-store/$rebuild').expect(202);
    expect(started.body.state).toBe('running');
    let status = statusBefore;
    const deadline = Date.now() + 60_000;
    while (status.activeGeneration === statusBefore.activeGeneration && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await fhirStoreStatus();
    }
    reading = false;
    await readLoop;
    expect(status.activeGeneration).toBe(statusBefore.activeGeneration + 1);
    expect(status.rebuild).toMatchObject({ state: 'swapped', eventsProcessed: expect.any(Number) });
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    const after = (await harness.http().get('/admin/projections/fhir-store/digest').expect(200)).body;
    expect(after).toEqual(before);
  });

  it('refuses to rebuild a process manager (it would decide again) and names unknown projections', async () => {
    const refused = await harness.http().post('/admin/projections/patient-matching/$rebuild').expect(409);
    expect(JSON.stringify(refused.body)).toContain('process manager');
    await harness.http().post('/admin/projections/no-such-projection/$rebuild').expect(404);
    const statuses = (await harness.http().get('/admin/projections').expect(200)).body as { name: string }[];
    expect(statuses.map((s) => s.name)).toContain('patient-matching');
  });
});
