import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CapabilityStatement, Resource } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import { AggregatorHarness, FIXTURES, startAggregator } from './support/aggregator-harness';
import { searchHttp } from './support/search-http';

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
const SOURCE = 'hospital-a';
const LAB = 'lab-b';
const ourId = (source: string, type: string, id: string) =>
  uuidv5(`${source}|${type}|${id}`, AGGREGATOR_NAMESPACE);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function patient(id: string, family: string, birthDate: string, lastUpdated: string, extra: object = {}) {
  return {
    resourceType: 'Patient',
    id,
    meta: { lastUpdated, tag: [{ system: 'http://example.org/tags', code: 'pilot' }] },
    identifier: [{ system: 'http://example.org/mrn', value: `MRN-${id}` }],
    name: [{ family, given: ['Zoë', 'Ann'] }],
    gender: 'female',
    birthDate,
    ...extra,
  };
}

function observation(id: string, patientId: string, code: string, value: number, effective: string) {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patientId}` },
    performer: [{ reference: 'Practitioner?identifier=http://example.org/npi|NPI-1' }],
    effectiveDateTime: effective,
    valueQuantity: { value, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
  };
}

describe('FHIR search, _asOf search and Patient/$everything (service over HTTP, real PostgreSQL)', () => {
  let harness: AggregatorHarness;
  let dir: string;

  const write = async (name: string, resources: object[]) => {
    const file = path.join(dir, name);
    await fs.writeFile(file, resources.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return file;
  };
  const { get, allMatches } = searchHttp(() => harness);
  const lab = (id: string) => ourId(LAB, 'Patient', id);

  let beforeChange: string;
  let afterChange: string;

  beforeAll(async () => {
    harness = await startAggregator();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-search-'));
    await harness.ingest(SOURCE, [SAMPLE]);
    await harness.ingest(LAB, [
      await write('v1.ndjson', [
        patient('p1', 'Ångström', '1970-03-04', '2024-01-01T00:00:00Z'),
        patient('p2', 'Angstrom-Smith', '1985-12-31', '2024-01-01T00:00:00Z', { gender: 'male' }),
        patient('p3', 'Zimmer', '1970', '2024-01-01T00:00:00Z', {
          telecom: [{ system: 'phone', value: '555-0100' }],
          // Tab and backslash travel through COPY's text format escaped.
          name: [
            { family: 'Zimmer', given: ['Zoë', 'Ann'] },
            { text: 'Tab\tthere' },
            { text: 'Back\\slash' },
          ],
        }),
        {
          resourceType: 'Practitioner',
          id: 'dr1',
          identifier: [{ system: 'http://example.org/npi', value: 'NPI-1' }],
        },
        observation('o1', 'p1', '2345-7', 95, '2024-05-01T10:00:00Z'),
        observation('o2', 'p1', '2345-7', 130.5, '2024-06-01T10:00:00Z'),
        observation('o3', 'p2', '718-7', 13.2, '2023-01-15T08:30:00+02:00'),
      ]),
    ]);
    await sleep(20);
    beforeChange = new Date().toISOString();
    await sleep(20);
    await harness.ingest(LAB, [
      await write('v2.ndjson', [
        patient('p1', 'Berg', '1970-03-04', '2024-02-01T00:00:00Z'),
        observation('o2', 'p1', '2345-7', 99, '2024-06-01T10:00:00Z'),
      ]),
    ]);
    await sleep(20);
    afterChange = new Date().toISOString();
  });
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('matches strings by case- and accent-insensitive prefix, :exact and :contains', async () => {
    expect(await allMatches(`/fhir/Patient?family=angst&_asOf=${beforeChange}`)).toEqual(
      [lab('p1'), lab('p2')].sort(),
    );
    expect(await allMatches(`/fhir/Patient?family:exact=Ångström&_asOf=${beforeChange}`)).toEqual([
      lab('p1'),
    ]);
    expect(await allMatches(`/fhir/Patient?family:exact=angström&_asOf=${beforeChange}`)).toEqual([]);
    expect(await allMatches('/fhir/Patient?name:contains=SMITH')).toEqual([lab('p2')]);
    expect(await allMatches('/fhir/Patient?given=zoe&family=zim')).toEqual([lab('p3')]);
    expect(await allMatches("/fhir/Patient?family=' OR 1=1 --")).toEqual([]);
    // Tab and backslash come back intact; search syntax writes a literal backslash as \\ (FHIR 3.1.1.6).
    expect(await allMatches('/fhir/Patient?name:exact=Tab%09there')).toEqual([lab('p3')]);
    expect(await allMatches('/fhir/Patient?name:contains=k%5C%5Csl')).toEqual([lab('p3')]);
  });

  it('answers every search as of an instant: before the change the old answer, after it the new one', async () => {
    expect(await allMatches(`/fhir/Patient?family=berg&_asOf=${beforeChange}`)).toEqual([]);
    expect(await allMatches(`/fhir/Patient?family=berg&_asOf=${afterChange}`)).toEqual([lab('p1')]);
    expect(await allMatches('/fhir/Patient?family=berg')).toEqual([lab('p1')]);
    expect(await allMatches('/fhir/Patient?family=angst')).toEqual([lab('p2')]);
    const high = `/fhir/Observation?code=http://loinc.org|2345-7&value-quantity=gt100`;
    expect(await allMatches(`${high}&_asOf=${beforeChange}`)).toEqual([ourId(LAB, 'Observation', 'o2')]);
    expect(await allMatches(high)).toEqual([]);
    // Before anything from the lab existed, nothing from it matches.
    expect(
      await allMatches('/fhir/Patient?identifier=http://example.org/mrn|MRN-p1&_asOf=2001-01-01'),
    ).toEqual([]);
  });

  it('matches tokens with and without system, :not, :missing, identifiers and the original source id', async () => {
    expect(await allMatches('/fhir/Patient?identifier=http://example.org/mrn|MRN-p2')).toEqual([lab('p2')]);
    expect(await allMatches('/fhir/Patient?identifier=MRN-p2,MRN-p3')).toEqual([lab('p2'), lab('p3')].sort());
    expect(await allMatches('/fhir/Patient?identifier=http://example.org/other|MRN-p2')).toEqual([]);
    expect(await allMatches(`/fhir/Patient?identifier=urn:fhir-aggregator:source:${LAB}|p3`)).toEqual([
      lab('p3'),
    ]);
    expect(await allMatches('/fhir/Patient?_tag=http://example.org/tags|pilot&gender:not=female')).toEqual([
      lab('p2'),
    ]);
    expect(await allMatches('/fhir/Patient?_tag=pilot&phone:missing=false')).toEqual([lab('p3')]);
    expect(await allMatches('/fhir/Patient?phone=phone|555-0100')).toEqual([lab('p3')]);
    expect((await allMatches('/fhir/Patient?_tag=pilot&phone:missing=true')).sort()).toEqual(
      [lab('p1'), lab('p2')].sort(),
    );
    expect(await allMatches(`/fhir/Patient?_source=urn:fhir-aggregator:source:${LAB}%23Patient/p2`)).toEqual([
      lab('p2'),
    ]);
  });

  it('compares dates as ranges with every prefix', async () => {
    const ids = (q: string) => allMatches(`/fhir/Patient?_tag=pilot&${q}`);
    // p1 1970-03-04, p2 1985-12-31, p3 1970 (the whole year).
    expect(await ids('birthdate=1970')).toEqual([lab('p1'), lab('p3')].sort());
    expect(await ids('birthdate=1970-03-04')).toEqual([lab('p1')]);
    expect(await ids('birthdate=eq1970-03')).toEqual([lab('p1')]);
    expect((await ids('birthdate=ne1970-03-04')).sort()).toEqual([lab('p2'), lab('p3')].sort());
    expect(await ids('birthdate=gt1980')).toEqual([lab('p2')]);
    expect(await ids('birthdate=lt1970-06-01')).toEqual([lab('p1'), lab('p3')].sort());
    expect(await ids('birthdate=sa1970-06-01')).toEqual([lab('p2')]);
    expect(await ids('birthdate=eb1970-06-01')).toEqual([lab('p1')]);
    expect(await ids('birthdate=ge1970-06-01&birthdate=le1985-12-31')).toEqual([lab('p2'), lab('p3')].sort());
    expect(await ids('birthdate=ap1985-12-20')).toEqual([lab('p2')]);
    const observations = await allMatches('/fhir/Observation?date=2023-01-15T06:30:00Z');
    expect(observations).toEqual([ourId(LAB, 'Observation', 'o3')]);
  });

  it('sorts, counts, pages to the end and keeps its pages pinned while new versions arrive', async () => {
    const sorted = await get('/fhir/Patient?_tag=pilot&_sort=-birthdate,family&_count=1');
    expect(sorted.total).toBeUndefined();
    const order = await allMatches('/fhir/Patient?_tag=pilot&_sort=-birthdate,family&_count=1');
    expect(order).toEqual([lab('p2'), lab('p3'), lab('p1')]);
    const ascending = await allMatches('/fhir/Patient?_tag=pilot&_sort=birthdate&_count=2');
    expect(ascending).toEqual([lab('p3'), lab('p1'), lab('p2')]);
    expect((await get('/fhir/Patient?_tag=pilot&_summary=count')).total).toBe(3);
    expect((await get('/fhir/Patient?_tag=pilot&_total=accurate&_count=1')).total).toBe(3);

    const first = await get('/fhir/Patient?_tag=pilot&_count=2');
    const next = first.link!.find((l) => l.relation === 'next')!.url;
    expect(next).toMatch(/_asOf=/);
    await harness.ingest(LAB, [
      await write('p4.ndjson', [patient('p4', 'Aardvark', '1999-01-01', '2024-03-01T00:00:00Z')]),
    ]);
    const rest = await allMatches(next.replace(/^https?:\/\/[^/]+/, ''));
    expect([...first.entry!.map((e) => e.resource!.id!), ...rest].sort()).toEqual(
      [lab('p1'), lab('p2'), lab('p3')].sort(),
    );
    const page2 = await get(next.replace(/^https?:\/\/[^/]+/, ''));
    expect(page2.link!.find((l) => l.relation === 'previous')).toBeDefined();
    expect((await allMatches('/fhir/Patient?_tag=pilot')).length).toBe(4);
  });

  it('includes referenced resources (conditional references resolved in the same source) and reverse includes', async () => {
    const bundle = await get(
      `/fhir/Observation?subject=Patient/${lab('p1')}&_include=Observation:subject&_include=Observation:performer&_revinclude=Provenance:target`,
    );
    const byMode = (mode: string) =>
      (bundle.entry ?? [])
        .filter((e) => e.search?.mode === mode)
        .map((e) => `${e.resource!.resourceType}/${e.resource!.id}`)
        .sort();
    expect(byMode('match')).toEqual(
      [
        `Observation/${ourId(LAB, 'Observation', 'o1')}`,
        `Observation/${ourId(LAB, 'Observation', 'o2')}`,
      ].sort(),
    );
    expect(byMode('include')).toEqual(
      [`Patient/${lab('p1')}`, `Practitioner/${ourId(LAB, 'Practitioner', 'dr1')}`].sort(),
    );
    const reverse = await get(`/fhir/Patient?_id=${lab('p2')}&_revinclude=Observation:subject`);
    expect(reverse.entry!.map((e) => `${e.search!.mode}:${e.resource!.resourceType}`)).toEqual([
      'match:Patient',
      'include:Observation',
    ]);
    const iterate = await get(
      `/fhir/Observation?_id=${ourId(LAB, 'Observation', 'o3')}&_include=Observation:subject&_revinclude:iterate=Observation:subject`,
    );
    // o3 → its patient p2 → p2's observations (o3 itself is already a match, so nothing more).
    expect(iterate.entry!.map((e) => e.search!.mode)).toEqual(['match', 'include']);
    const elements = await get(`/fhir/Patient?_id=${lab('p1')}&_elements=birthDate`);
    const subset = elements.entry![0].resource as Resource & Record<string, unknown>;
    expect(Object.keys(subset).sort()).toEqual(['birthDate', 'id', 'meta', 'resourceType']);
    expect(subset.meta!.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
  });

  it('answers Patient/$everything with the compartment and what it references, paged, and as of an instant', async () => {
    const everything = async (query: string) => {
      const ids: string[] = [];
      let next: string | undefined = `/fhir/Patient/${lab('p1')}/$everything${query}`;
      let total: number | undefined;
      while (next) {
        const bundle = await get(next.replace(/^https?:\/\/[^/]+/, ''));
        total ??= bundle.total;
        for (const entry of bundle.entry ?? [])
          ids.push(`${entry.resource!.resourceType}/${entry.resource!.id}`);
        next = bundle.link?.find((l) => l.relation === 'next')?.url;
      }
      expect(ids.length).toBe(total);
      return ids;
    };
    const all = await everything('?_count=1');
    expect(all).toEqual([
      `Patient/${lab('p1')}`,
      ...[
        `Observation/${ourId(LAB, 'Observation', 'o1')}`,
        `Observation/${ourId(LAB, 'Observation', 'o2')}`,
      ].sort(),
      `Practitioner/${ourId(LAB, 'Practitioner', 'dr1')}`,
    ]);
    expect(await everything('?_type=Observation')).toHaveLength(2);
    expect(await everything(`?_since=${afterChange}`)).toEqual([]);
    const v1 = await get(`/fhir/Patient/${lab('p1')}/$everything?_asOf=${beforeChange}`);
    expect((v1.entry![0].resource as unknown as { name: { family: string }[] }).name[0].family).toBe(
      'Ångström',
    );
    await get(`/fhir/Patient/${lab('p1')}/$everything?_asOf=2001-01-01`, 404);
    await get(`/fhir/Patient/${lab('nobody')}/$everything`, 404);

    const sample = await get('/fhir/Patient?_tag:not=pilot&_count=1');
    const sampleEverything = await get(
      `/fhir/Patient/${sample.entry![0].resource!.id}/$everything?_count=1000`,
    );
    const types = new Set(sampleEverything.entry!.map((e) => e.resource!.resourceType));
    // Synthea refers to practitioners, organizations and locations by identifier: resolved within the source.
    expect([...types]).toEqual(
      expect.arrayContaining(['Patient', 'Encounter', 'Practitioner', 'Organization', 'Location']),
    );
  });

  it('lists in the CapabilityStatement exactly the parameters that work: each is accepted under strict handling', async () => {
    const metadata = (await get('/fhir/metadata')) as unknown as CapabilityStatement;
    const resources = metadata.rest![0].resource!;
    const patientParams = resources.find((r) => r.type === 'Patient')!.searchParam!.map((p) => p.name);
    expect(patientParams).toEqual(
      expect.arrayContaining(['name', 'birthdate', 'identifier', '_asOf', '_tag']),
    );
    const probes: string[] = [];
    for (const resource of resources) {
      for (const param of resource.searchParam ?? []) {
        // _has is checked by the chain suites (it names a type and parameters of its own).
        if (param.name === '_asOf' || param.name === '_has') continue;
        const probe =
          param.name === '_id'
            ? '_id=x'
            : param.name === '_lastUpdated'
              ? '_lastUpdated=gt2000'
              : `${param.name}:missing=true`;
        probes.push(`/fhir/${resource.type}?${probe}&_count=0`);
      }
    }
    expect(probes.length).toBeGreaterThan(2000);
    // Eight at a time: each answer waits for its audit commit, and one by one the 2,000 took most of the
    // test's time on a loaded machine.
    for (let i = 0; i < probes.length; i += 8)
      await Promise.all(probes.slice(i, i + 8).map((url) => get(url, 200, { Prefer: 'handling=strict' })));
  });

  it('rejects malformed parameters with a 400 naming the parameter; unknown ones are reported or, strict, rejected', async () => {
    const cases: [string, RegExp][] = [
      ['/fhir/Patient?birthdate=1970-13-45', /birthdate/],
      ['/fhir/Patient?birthdate=xx1970', /birthdate: unknown prefix/],
      ['/fhir/Patient?_count=abc', /_count/],
      ['/fhir/Patient?_sort=nonexistent', /_sort/],
      ['/fhir/Patient?_asOf=yesterday', /_asOf/],
      ['/fhir/Patient?gender:missing=maybe', /gender:missing/],
      ['/fhir/Patient?name:below=x', /name:below/],
      ['/fhir/Observation?value-quantity=abc', /value-quantity/],
      ['/fhir/Observation?subject:Unicorn=1', /subject:Unicorn/],
      ['/fhir/Observation?_include=Observation:code', /_include/],
      ['/fhir/Observation?subject.colour=x', /subject.colour: "colour" is not a search parameter/],
      ['/fhir/Patient?_summary=text', /_summary/],
      ['/fhir/Patient?name[x]=1', /name: expected a plain value/],
      [`/fhir/Patient/${lab('p1')}/$everything?_type=Unicorn`, /_type/],
    ];
    for (const [url, message] of cases) {
      const outcome = (await get(url, 400)) as unknown as { issue: { diagnostics: string }[] };
      expect({ url, diagnostics: outcome.issue[0].diagnostics }).toEqual({
        url,
        diagnostics: expect.stringMatching(message),
      });
    }
    const lenient = await get('/fhir/Patient?_tag=pilot&colour=blue');
    const outcome = lenient.entry!.find((e) => e.search?.mode === 'outcome')!.resource as unknown as {
      issue: { diagnostics: string }[];
    };
    expect(outcome.issue[0].diagnostics).toMatch(/colour/);
    await get('/fhir/Patient?_tag=pilot&colour=blue', 400, { Prefer: 'handling=strict' });
  });
});
