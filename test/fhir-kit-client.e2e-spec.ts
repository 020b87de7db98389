import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Resource } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import { generateClientKeyPair } from '@fa/access';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import { AggregatorHarness, FIXTURES, REPO_ROOT, startAggregator } from './support/aggregator-harness';

/**
 * A real third-party FHIR client against the listening service: fhir-kit-client 2.x searches, follows `next` links
 * with nextPage() and calls Patient/$everything, every request with the bearer token it obtained itself as a SMART
 * Backend Services client (RS384 assertion signed with jose, as SMART's bulk-data-client signs it). The client is ESM-only, so it runs in a child process
 * (test/support/fhir-kit-client-search.mjs) and reports what it collected as JSON; expectations are computed from the
 * fixture files, not from the server's code.
 */
const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
const SOURCE = 'sample';
const CLIENT_SCRIPT = path.join(REPO_ROOT, 'test', 'support', 'fhir-kit-client-search.mjs');
const SHARED_TYPES = new Set(['Practitioner', 'Organization', 'Location', 'Medication']);

/** The documented id rule, restated here rather than imported: UUIDv5 of "source|type|id". */
const ourId = (type: string, id: string) => uuidv5(`${SOURCE}|${type}|${id}`, AGGREGATOR_NAMESPACE);

type SourceResource = Record<string, unknown> & { resourceType: string; id: string };
type Params = Record<string, string | number | (string | number)[]>;

type ClientStep = (
  | { kind: 'search'; resourceType: string; searchParams: Params; post?: boolean }
  | { kind: 'everything'; id: string; params?: Params }
) & { pauseAfterFirstPage?: boolean };

interface ClientEntry {
  fullUrl: string | null;
  mode: string | null;
  resource: (Resource & Record<string, unknown>) | null;
}

interface ClientPage {
  resourceType: string;
  type: string;
  total: number | null;
  links: { relation: string; url: string }[];
  entries: ClientEntry[];
}

interface ClientResult {
  step: number;
  pages?: ClientPage[];
  error?: { status: number | null; data: unknown; message: string };
}

/** How the client script authenticates (SMART_CLIENT_ID, SMART_PRIVATE_JWK): set once the client is registered. */
let clientEnvironment: Record<string, string> = {};

/**
 * Runs the client script on the given steps. With onPaused, a step marked pauseAfterFirstPage stops after its first
 * page until onPaused resolves.
 */
function runClient(
  baseUrl: string,
  steps: ClientStep[],
  onPaused?: (step: number) => Promise<void>,
): Promise<ClientResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLIENT_SCRIPT, baseUrl, JSON.stringify(steps)], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...clientEnvironment },
    });
    const results: ClientResult[] = [];
    let buffered = '';
    let stderr = '';
    let failure: unknown;
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!line.trim()) continue;
        const message = JSON.parse(line) as ClientResult | { paused: number };
        if ('paused' in message) {
          (onPaused ?? (async () => undefined))(message.paused).then(
            () => child.stdin.write('\n'),
            (error: unknown) => {
              failure = error;
              child.kill();
            },
          );
        } else results.push(message);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (failure) reject(failure);
      else if (code !== 0) reject(new Error(`client script exited with ${code}: ${stderr}`));
      else if (results.length !== steps.length || buffered.trim()) {
        reject(new Error(`client script reported ${results.length} of ${steps.length} results: ${stderr}`));
      } else resolve(results);
    });
  });
}

/** The pages of one successful client step; a failed request fails the test with the server's answer. */
function pagesOf(result: ClientResult | undefined): ClientPage[] {
  if (!result) throw new Error('the client reported no result for the step');
  if (result.error || !result.pages) {
    throw new Error(
      `client request failed: ${result.error?.message} ${JSON.stringify(result.error?.data).slice(0, 600)}`,
    );
  }
  return result.pages;
}

const refOf = (entry: ClientEntry) => `${entry.resource?.resourceType}/${entry.resource?.id}`;
const matchesOf = (pages: ClientPage[]) =>
  pages.flatMap((p) => p.entries.filter((e) => e.mode === 'match').map(refOf));
const includesOf = (pages: ClientPage[]) =>
  pages.flatMap((p) => p.entries.filter((e) => e.mode === 'include').map(refOf));
const linkOf = (page: ClientPage, relation: string) => page.links.find((l) => l.relation === relation)?.url;

async function readNdjsonFolder(folder: string): Promise<SourceResource[]> {
  const out: SourceResource[] = [];
  for (const name of (await fs.readdir(folder)).sort()) {
    const text = await fs.readFile(path.join(folder, name), 'utf8');
    for (const line of text.split('\n')) if (line.trim()) out.push(JSON.parse(line));
  }
  return out;
}

const ref = (r: SourceResource) => `${r.resourceType}/${ourId(r.resourceType, r.id)}`;
const sorted = (values: string[]) => [...values].sort();
const referencesPatient = (r: SourceResource, patient: SourceResource) =>
  JSON.stringify(r).includes(`"reference":"Patient/${patient.id}"`);

/**
 * What Patient/$everything should hold, from the fixture: the patient, every resource of another type that refers
 * to it (in this fixture each such reference is a Patient compartment parameter: subject, patient, target), and the
 * Practitioner/Organization/Location resources those name, conditional references resolved by identifier.
 */
function expectedEverything(all: SourceResource[], patient: SourceResource): string[] {
  const compartment = all.filter(
    (r) =>
      !SHARED_TYPES.has(r.resourceType) &&
      (r.resourceType === 'Patient' ? r.id === patient.id : referencesPatient(r, patient)),
  );
  const named = new Set<string>();
  for (const r of compartment) {
    for (const m of JSON.stringify(r).matchAll(/"reference":"([A-Za-z]+)\?identifier=([^|"]*)\|([^"]*)"/g)) {
      const target = all.find(
        (t) =>
          t.resourceType === m[1] &&
          ((t.identifier as { system?: string; value?: string }[] | undefined) ?? []).some(
            (i) => i.system === m[2] && i.value === m[3],
          ),
      );
      if (target && SHARED_TYPES.has(target.resourceType)) named.add(ref(target));
    }
    for (const m of JSON.stringify(r).matchAll(/"reference":"([A-Za-z]+)\/([A-Za-z0-9\-.]+)"/g)) {
      if (SHARED_TYPES.has(m[1])) named.add(`${m[1]}/${ourId(m[1], m[2])}`);
    }
  }
  return sorted([...compartment.map(ref), ...named]);
}

/** Millisecond range a FHIR dateTime with seconds covers (search semantics: that second). */
function secondRange(value: string): [number, number] {
  const lo = Date.parse(value);
  return [lo, lo + 999];
}

describe('fhir-kit-client (a real FHIR client in its own process) against the listening service', () => {
  let harness: AggregatorHarness;
  let baseUrl: string;
  let all: SourceResource[];
  let patientA: SourceResource;
  let patientB: SourceResource;
  const ofType = (type: string) => all.filter((r) => r.resourceType === type);
  const patientIdA = () => ourId('Patient', patientA.id);

  beforeAll(async () => {
    harness = await startAggregator();
    all = await readNdjsonFolder(SAMPLE);
    const result = await harness.ingest(SOURCE, [SAMPLE]);
    expect(result).toMatchObject({ read: all.length, recorded: all.length, rejected: [] });
    const server = harness.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    // The client registers as any would (the admin endpoint, with an RS384 key) and obtains its own tokens.
    const keys = await generateClientKeyPair('RS384');
    await harness
      .http()
      .post('/admin/clients')
      .send({ clientId: 'fhir-kit-client', scope: 'system/*.rs', jwks: keys.publicJwks })
      .expect(201);
    clientEnvironment = {
      SMART_CLIENT_ID: 'fhir-kit-client',
      SMART_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
    };
    const patients = ofType('Patient');
    patientA = patients.find((p) => JSON.stringify(p.name).includes('Keeling57'))!;
    patientB = patients.find((p) => p !== patientA)!;
  });
  afterAll(() => harness?.close());

  it('pages every Observation through next links: exactly the stored set, once each, as read directly', async () => {
    const [result] = await runClient(baseUrl, [
      { kind: 'search', resourceType: 'Observation', searchParams: { _count: 7, _total: 'accurate' } },
    ]);
    const pages = pagesOf(result);
    const observations = ofType('Observation');
    expect(observations.length).toBe(60);
    expect(pages.length).toBe(Math.ceil(observations.length / 7));
    const matches = matchesOf(pages);
    expect(new Set(matches).size).toBe(matches.length);
    expect(sorted(matches)).toEqual(sorted(observations.map(ref)));
    // The server's own count of what it holds agrees.
    const history = await harness.http().get('/fhir/Observation/_history?_count=0').expect(200);
    expect(history.body.total).toBe(matches.length);
    expect(pages[0].total).toBe(observations.length);
    pages.forEach((page, i) => {
      expect(page).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
      expect(page.entries.length).toBeLessThanOrEqual(7);
      expect(linkOf(page, 'self')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir\/Observation\?/);
      expect(linkOf(page, 'previous') === undefined).toBe(i === 0);
      const next = linkOf(page, 'next');
      expect(next === undefined).toBe(i === pages.length - 1);
      if (next) {
        expect(next.startsWith(`${baseUrl}/Observation?`)).toBe(true);
        expect(new URL(next).searchParams.get('_asOf')).toMatch(/^\d{4}-\d\d-\d\dT/);
      }
    });
    for (const page of pages) {
      for (const entry of page.entries) {
        expect(entry.fullUrl).toBe(`${baseUrl}/${refOf(entry)}`);
        const direct = await harness
          .http()
          .get(`/fhir/${refOf(entry)}`)
          .expect(200);
        expect(entry.resource).toEqual(direct.body);
      }
    }
  });

  it('reads only with a token: none is 401, one without the type is 403 (an OperationOutcome either way)', async () => {
    const registered = clientEnvironment;
    try {
      clientEnvironment = { SMART_CLIENT_ID: '' };
      const [anonymous] = await runClient(baseUrl, [
        { kind: 'search', resourceType: 'Observation', searchParams: { _count: 1 } },
      ]);
      expect(anonymous.error).toMatchObject({ status: 401, data: { resourceType: 'OperationOutcome' } });
      clientEnvironment = { ...registered, SMART_SCOPE: 'system/Patient.rs' };
      const [narrow, allowed] = await runClient(baseUrl, [
        { kind: 'search', resourceType: 'Observation', searchParams: { _count: 1 } },
        { kind: 'search', resourceType: 'Patient', searchParams: { _count: 1 } },
      ]);
      expect(narrow.error).toMatchObject({ status: 403, data: { resourceType: 'OperationOutcome' } });
      expect(matchesOf(pagesOf(allowed))).toHaveLength(ofType('Patient').length);
    } finally {
      clientEnvironment = registered;
    }
  });

  it('answers token, date-range, string and reference searches with exactly the matching fixture resources', async () => {
    const loinc = 'http://loinc.org|1271AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const from = Date.parse('1995-01-01T00:00:00Z');
    const to = Date.parse('2000-01-01T00:00:00Z');
    const results = await runClient(baseUrl, [
      { kind: 'search', resourceType: 'Observation', searchParams: { code: loinc, _count: 10 } },
      {
        kind: 'search',
        resourceType: 'Encounter',
        searchParams: { date: ['ge1995-01-01', 'lt2000-01-01'], _count: 4 },
      },
      { kind: 'search', resourceType: 'Immunization', searchParams: { date: '1996', _count: 5 } },
      { kind: 'search', resourceType: 'Patient', searchParams: { family: 'keel' } },
      { kind: 'search', resourceType: 'Patient', searchParams: { name: 'JEREM' } },
      { kind: 'search', resourceType: 'Patient', searchParams: { 'family:exact': 'keeling57' } },
      {
        kind: 'search',
        resourceType: 'Encounter',
        searchParams: { subject: `Patient/${patientIdA()}`, _count: 5 },
        post: true,
      },
      {
        kind: 'search',
        resourceType: 'Immunization',
        searchParams: { patient: ourId('Patient', patientB.id), _count: 8 },
      },
    ]);
    const [byCode, byPeriod, byYear, family, name, exact, encounters, immunizations] = results.map(pagesOf);
    const observations = ofType('Observation');
    const code = (o: SourceResource) => (o.code as { coding: { system: string; code: string }[] }).coding[0];
    const expectedByCode = observations.filter((o) => `${code(o).system}|${code(o).code}` === loinc);
    expect(expectedByCode.length).toBe(34);
    expect(sorted(matchesOf(byCode))).toEqual(sorted(expectedByCode.map(ref)));
    expect(byCode.length).toBe(4);
    // Encounter.period covers [start, end + 999 ms]: ge wants its end at or after, lt its start before the bound.
    const expectedByPeriod = ofType('Encounter').filter((e) => {
      const period = e.period as { start: string; end: string };
      return secondRange(period.end)[1] >= from && secondRange(period.start)[0] < to;
    });
    expect(expectedByPeriod.length).toBeGreaterThan(8);
    expect(sorted(matchesOf(byPeriod))).toEqual(sorted(expectedByPeriod.map(ref)));
    expect(byPeriod.length).toBe(Math.ceil(expectedByPeriod.length / 4));
    const expectedByYear = ofType('Immunization').filter((i) => {
      const [lo, hi] = secondRange(i.occurrenceDateTime as string);
      return lo >= Date.parse('1996-01-01T00:00:00Z') && hi <= Date.parse('1996-12-31T23:59:59.999Z');
    });
    expect(expectedByYear.length).toBeGreaterThan(5);
    expect(sorted(matchesOf(byYear))).toEqual(sorted(expectedByYear.map(ref)));
    expect(matchesOf(family)).toEqual([ref(patientA)]);
    expect(family[0].total).toBe(1);
    expect(matchesOf(name)).toEqual([ref(patientB)]);
    expect(matchesOf(exact)).toEqual([]);
    const expectedEncounters = ofType('Encounter').filter((e) => referencesPatient(e, patientA));
    expect(sorted(matchesOf(encounters))).toEqual(sorted(expectedEncounters.map(ref)));
    expect(encounters.length).toBe(Math.ceil(expectedEncounters.length / 5));
    const expectedImmunizations = ofType('Immunization').filter((i) => referencesPatient(i, patientB));
    expect(sorted(matchesOf(immunizations))).toEqual(sorted(expectedImmunizations.map(ref)));
    for (const pages of results.map(pagesOf)) {
      const refs = matchesOf(pages);
      expect(new Set(refs).size).toBe(refs.length);
    }
  });

  it('runs a chained and a composite search and pages each to the end', async () => {
    const arv = 'http://loinc.org|1271AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const concepts = ['790AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '5622AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'];
    const family = (patientA.name as { family: string }[])[0].family;
    const [chained, composite] = (
      await runClient(baseUrl, [
        {
          kind: 'search',
          resourceType: 'Observation',
          searchParams: { 'subject:Patient.family': family.slice(0, 4).toLowerCase(), _count: 7 },
        },
        {
          kind: 'search',
          resourceType: 'Observation',
          searchParams: {
            'code-value-concept': concepts.map((c) => `${arv}$http://snomed.info/sct|${c}`).join(','),
            _count: 1,
          },
        },
      ])
    ).map(pagesOf);
    const observations = ofType('Observation');
    const ofA = observations.filter((o) => referencesPatient(o, patientA));
    expect(ofA.length).toBeGreaterThan(14);
    expect(sorted(matchesOf(chained))).toEqual(sorted(ofA.map(ref)));
    expect(chained.length).toBe(Math.ceil(ofA.length / 7));
    const valued = observations.filter((o) => {
      const code = (o.code as { coding: { system: string; code: string }[] }).coding[0];
      const value = (o.valueCodeableConcept as { coding: { system: string; code: string }[] } | undefined)
        ?.coding;
      return (
        `${code.system}|${code.code}` === arv &&
        (value ?? []).some((c) => c.system === 'http://snomed.info/sct' && concepts.includes(c.code))
      );
    });
    expect(valued.length).toBe(4);
    expect(sorted(matchesOf(composite))).toEqual(sorted(valued.map(ref)));
    expect(composite.length).toBe(valued.length);
  });

  it('keeps _sort order across pages: Immunizations by date, ties by _id', async () => {
    const results = await runClient(baseUrl, [
      {
        kind: 'search',
        resourceType: 'Immunization',
        searchParams: { patient: `Patient/${patientIdA()}`, _sort: 'date', _count: 10 },
      },
      {
        kind: 'search',
        resourceType: 'Immunization',
        searchParams: { patient: `Patient/${patientIdA()}`, _sort: '-date', _count: 10 },
      },
    ]);
    const [ascending, descending] = results.map(pagesOf);
    const mine = ofType('Immunization').filter((i) => referencesPatient(i, patientA));
    const at = (i: SourceResource) => Date.parse(i.occurrenceDateTime as string);
    const byId = (a: SourceResource, b: SourceResource) =>
      ourId('Immunization', a.id) < ourId('Immunization', b.id) ? -1 : 1;
    const expectedAscending = [...mine].sort((a, b) => at(a) - at(b) || byId(a, b)).map(ref);
    const expectedDescending = [...mine].sort((a, b) => at(b) - at(a) || byId(a, b)).map(ref);
    expect(new Set(mine.map(at)).size).toBeLessThan(mine.length); // the fixture has ties to break
    expect(matchesOf(ascending)).toEqual(expectedAscending);
    expect(matchesOf(descending)).toEqual(expectedDescending);
    expect(ascending.length).toBe(Math.ceil(mine.length / 10));
  });

  it('adds each page’s _include targets once, outside the matches', async () => {
    const [result] = await runClient(baseUrl, [
      {
        kind: 'search',
        resourceType: 'Observation',
        searchParams: {
          subject: `Patient/${patientIdA()}`,
          _include: 'Observation:encounter',
          _count: 8,
        },
      },
    ]);
    const pages = pagesOf(result);
    const mine = ofType('Observation').filter((o) => referencesPatient(o, patientA));
    expect(sorted(matchesOf(pages))).toEqual(sorted(mine.map(ref)));
    expect(pages.length).toBe(Math.ceil(mine.length / 8));
    for (const page of pages) {
      const included = page.entries.filter((e) => e.mode === 'include').map(refOf);
      expect(new Set(included).size).toBe(included.length);
      const named = new Set(
        page.entries
          .filter((e) => e.mode === 'match')
          .map((e) => (e.resource!.encounter as { reference: string }).reference),
      );
      expect(sorted(included)).toEqual(sorted([...named]));
    }
    const encounterRefs = new Set(mine.map((o) => (o.encounter as { reference: string }).reference));
    expect(new Set(includesOf(pages))).toEqual(
      new Set([...encounterRefs].map((r) => `Encounter/${ourId('Encounter', r.split('/')[1])}`)),
    );
  });

  it('follows Patient/$everything through next pages: the patient, its compartment and the resources they name', async () => {
    const results = await runClient(baseUrl, [
      { kind: 'everything', id: patientIdA(), params: { _count: 50 } },
      { kind: 'everything', id: ourId('Patient', patientB.id) },
    ]);
    const [everythingA, everythingB] = results.map(pagesOf);
    const expectedA = expectedEverything(all, patientA);
    expect(expectedA.length).toBe(244);
    const collected = everythingA.flatMap((p) => p.entries.map(refOf));
    expect(new Set(collected).size).toBe(collected.length);
    expect(sorted(collected)).toEqual(expectedA);
    expect(everythingA.length).toBe(Math.ceil(expectedA.length / 50));
    // total is always present; it counts what is not an include (the referenced resources may be either).
    const counted = everythingA.flatMap((p) => p.entries).filter((e) => e.mode !== 'include').length;
    for (const page of everythingA) {
      expect(page.type).toBe('searchset');
      expect(page.entries.length).toBeLessThanOrEqual(50);
      expect(page.total).toBe(counted);
    }
    const collectedB = everythingB.flatMap((p) => p.entries.map(refOf));
    expect(new Set(collectedB).size).toBe(collectedB.length);
    expect(sorted(collectedB)).toEqual(expectedEverything(all, patientB));
    expect(everythingB.length).toBe(Math.ceil(collectedB.length / 100));
  });

  it('reports $everything errors to the client: unknown patient 404, _asOf before it existed 404', async () => {
    const [unknown, tooEarly] = await runClient(baseUrl, [
      { kind: 'everything', id: ourId('Patient', 'no-such-patient') },
      { kind: 'everything', id: patientIdA(), params: { _asOf: '2001-01-01' } },
    ]);
    expect(unknown.error).toMatchObject({ status: 404, data: { resourceType: 'OperationOutcome' } });
    expect(tooEarly.error).toMatchObject({ status: 404, data: { resourceType: 'OperationOutcome' } });
  });

  describe('after a second ingest adds, amends and deletes Observations and renames the patient', () => {
    let between: string;
    let added: SourceResource[];
    let amended: SourceResource;
    let deleted: SourceResource;
    let mineBefore: SourceResource[];

    const observationFor = (template: SourceResource, id: string): SourceResource => ({ ...template, id });

    beforeAll(async () => {
      mineBefore = ofType('Observation').filter((o) => referencesPatient(o, patientA));
      added = Array.from({ length: 7 }, (_, i) => observationFor(mineBefore[0], `fkc-added-${i}`));
      amended = { ...mineBefore[1], status: 'amended' };
      deleted = mineBefore[2];
      const renamed = { ...patientA, name: [{ use: 'official', family: 'Renamed42', given: ['Bob965'] }] };
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-fkc-'));
      const changes = path.join(dir, 'changes.ndjson');
      await fs.writeFile(
        changes,
        [...added, amended, renamed].map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
      const deletion = path.join(dir, 'delete.json');
      await fs.writeFile(
        deletion,
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ request: { method: 'DELETE', url: `Observation/${deleted.id}` } }],
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      between = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await harness.ingest(SOURCE, [changes])).toMatchObject({ recorded: 9, rejected: [] });
      expect(await harness.ingest(SOURCE, [deletion])).toMatchObject({ deleted: 1 });
    });

    it('searches with _asOf between the ingests: the earlier answer across every page; without it the current one', async () => {
      const subject = `Patient/${patientIdA()}`;
      const results = await runClient(baseUrl, [
        { kind: 'search', resourceType: 'Observation', searchParams: { subject, _count: 4, _asOf: between } },
        { kind: 'search', resourceType: 'Observation', searchParams: { subject, _count: 4 } },
        { kind: 'search', resourceType: 'Observation', searchParams: { status: 'amended', _asOf: between } },
        { kind: 'search', resourceType: 'Observation', searchParams: { status: 'amended' } },
        { kind: 'search', resourceType: 'Patient', searchParams: { family: 'keel', _asOf: between } },
        { kind: 'search', resourceType: 'Patient', searchParams: { family: 'keel' } },
        { kind: 'search', resourceType: 'Patient', searchParams: { family: 'renamed', _asOf: between } },
        { kind: 'search', resourceType: 'Patient', searchParams: { family: 'renamed' } },
      ]);
      const [past, now, amendedPast, amendedNow, keelPast, keelNow, renamedPast, renamedNow] =
        results.map(pagesOf);
      expect(sorted(matchesOf(past))).toEqual(sorted(mineBefore.map(ref)));
      expect(past.length).toBe(Math.ceil(mineBefore.length / 4));
      for (const page of past) {
        for (const entry of page.entries) expect(entry.resource!.meta!.versionId).toBe('1');
        const next = linkOf(page, 'next');
        if (next) expect(new URL(next).searchParams.get('_asOf')).toBe(between);
      }
      const current = [...mineBefore.filter((o) => o !== deleted), ...added];
      expect(sorted(matchesOf(now))).toEqual(sorted(current.map(ref)));
      const versions = new Map(
        now.flatMap((p) => p.entries.map((e) => [refOf(e), e.resource!.meta!.versionId])),
      );
      expect(versions.get(ref(amended))).toBe('2');
      expect(matchesOf(amendedPast)).toEqual([]);
      expect(matchesOf(amendedNow)).toEqual([ref(amended)]);
      expect(matchesOf(keelPast)).toEqual([ref(patientA)]);
      expect(matchesOf(keelNow)).toEqual([]);
      expect(matchesOf(renamedPast)).toEqual([]);
      expect(matchesOf(renamedNow)).toEqual([ref(patientA)]);
    });

    it('answers $everything with _asOf as before the second ingest, and without it as now', async () => {
      const [past, now] = (
        await runClient(baseUrl, [
          { kind: 'everything', id: patientIdA(), params: { _asOf: between, _count: 40 } },
          { kind: 'everything', id: patientIdA(), params: { _count: 40 } },
        ])
      ).map(pagesOf);
      const collectedPast = past.flatMap((p) => p.entries.map(refOf));
      expect(new Set(collectedPast).size).toBe(collectedPast.length);
      expect(sorted(collectedPast)).toEqual(expectedEverything(all, patientA));
      const patientPast = past.flatMap((p) => p.entries).find((e) => refOf(e) === ref(patientA));
      expect(patientPast!.resource).toMatchObject({ meta: { versionId: '1' }, name: patientA.name });
      const expectedNow = sorted([
        ...expectedEverything(all, patientA).filter((r) => r !== ref(deleted)),
        ...added.map(ref),
      ]);
      const collectedNow = now.flatMap((p) => p.entries.map(refOf));
      expect(new Set(collectedNow).size).toBe(collectedNow.length);
      expect(sorted(collectedNow)).toEqual(expectedNow);
      expect(now.length).toBe(Math.ceil(expectedNow.length / 40));
    });

    it('keeps paging at the first page’s point in time while new resources arrive between pages', async () => {
      const subject = `Patient/${patientIdA()}`;
      const current = [...mineBefore.filter((o) => o !== deleted), ...added];
      const late = Array.from({ length: 5 }, (_, i) => observationFor(mineBefore[0], `fkc-late-${i}`));
      const [paged] = await runClient(
        baseUrl,
        [
          {
            kind: 'search',
            resourceType: 'Observation',
            searchParams: { subject, _count: 5 },
            pauseAfterFirstPage: true,
          },
        ],
        async () => {
          const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-fkc-late-'));
          const file = path.join(dir, 'late.ndjson');
          await fs.writeFile(file, late.map((r) => JSON.stringify(r)).join('\n') + '\n');
          expect(await harness.ingest(SOURCE, [file])).toMatchObject({ recorded: late.length });
        },
      );
      const pages = pagesOf(paged);
      const matches = matchesOf(pages);
      expect(new Set(matches).size).toBe(matches.length);
      expect(sorted(matches)).toEqual(sorted(current.map(ref)));
      const [fresh] = await runClient(baseUrl, [
        { kind: 'search', resourceType: 'Observation', searchParams: { subject, _count: 50 } },
      ]);
      expect(sorted(matchesOf(pagesOf(fresh)))).toEqual(sorted([...current, ...late].map(ref)));
    });
  });
});
