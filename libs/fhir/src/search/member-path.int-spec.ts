import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { parseFhirJson, stringifyFhirJson } from '../fhir-json';
import { memberPathEvaluator } from './member-path';
import { r4SearchParameters } from './search-parameters';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const EXAMPLES = path.resolve(ROOT, '..', 'shared', 'data', 'fhir-r4-examples', 'r4-examples.tar.gz');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'synthea-2-patients');

/** The FHIR R4 specification's examples (712 resources of most types) and the Synthea fixture, parsed as ingestion does. */
function corpus(): Record<string, unknown>[] {
  if (!existsSync(EXAMPLES))
    throw new Error(`${EXAMPLES} is missing: place ../shared/data beside the project`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fa-r4-examples-'));
  try {
    execFileSync('tar', ['xzf', EXAMPLES, '-C', dir]);
    const resources: Record<string, unknown>[] = [];
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const resource = parseFhirJson(readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown>;
      resources.push(resource);
      if (resource.resourceType === 'Bundle') {
        for (const entry of (resource.entry as { resource?: Record<string, unknown> }[] | undefined) ?? []) {
          if (entry.resource) resources.push(entry.resource);
        }
      }
    }
    for (const name of readdirSync(FIXTURES)) {
      for (const line of readFileSync(path.join(FIXTURES, name), 'utf8').split('\n')) {
        if (line.trim()) resources.push(parseFhirJson(line) as Record<string, unknown>);
      }
    }
    return resources;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const canonical = (values: unknown[]) => [...new Set(values.map((v) => stringifyFhirJson(v)))].sort();

describe('member-path fast evaluation', () => {
  it('selects exactly what fhirpath.js selects, for every parameter of every resource in the R4 examples', () => {
    const registry = r4SearchParameters();
    let compared = 0;
    let fast = 0;
    const mismatches: string[] = [];
    for (const resource of corpus()) {
      for (const definition of registry.parametersOf(resource.resourceType as string)) {
        const reference = fhirpath.compile(definition.expression, r4Model) as unknown as (
          r: unknown,
        ) => unknown[];
        const evaluator = memberPathEvaluator(definition.expression, reference);
        if (!evaluator) continue;
        fast++;
        let selected: unknown[];
        try {
          selected = reference(resource);
        } catch {
          // fhirpath.js rejects "as" over a collection (strict FHIRPath); the walk keeps every value instead.
          continue;
        }
        const expected = canonical(selected);
        const actual = canonical(evaluator(resource));
        compared++;
        if (JSON.stringify(actual) !== JSON.stringify(expected) && mismatches.length < 10) {
          mismatches.push(
            `${resource.resourceType}/${resource.id} ${definition.code}: ${JSON.stringify(actual).slice(0, 200)} ≠ ${JSON.stringify(expected).slice(0, 200)}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(10_000);
    expect(compared / fast).toBeGreaterThan(0.99);
  });
});
