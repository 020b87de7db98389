import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Parameters } from 'fhir/r4';
import type { AggregatorHarness } from './aggregator-harness';

/** The golden patient Patient Identity links a source patient to now (by $mdm-query-links), if any. */
export async function goldenOf(
  harness: AggregatorHarness,
  sourcePatient: string,
): Promise<string | undefined> {
  const response = await harness.http().get(`/fhir/$mdm-query-links?resourceId=Patient/${sourcePatient}`);
  const link = (response.body as Parameters).parameter?.find((p) =>
    p.part?.some((part) => part.name === 'goldenResourceId'),
  );
  return link?.part?.find((p) => p.name === 'goldenResourceId')?.valueString?.replace('Patient/', '');
}

/** Writes resources as an NDJSON file `name` in `dir`; its path. */
export async function writeNdjson(dir: string, name: string, resources: object[]): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, resources.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}
