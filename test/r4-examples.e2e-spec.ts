import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalJson, FhirDecimal, parseFhirJson, parseReference, sourceSystemUri } from '@fa/fhir';
import { aggregateIdOf, FileIngestionService } from '@fa/ingestion';
import { AggregatorHarness, REPO_ROOT, startAggregator } from './support/aggregator-harness';

/**
 * The 711 examples of the FHIR R4 specification, each file ingested as its own source (so ids of different
 * files never meet), then every resource read back over HTTP: it must equal the file's resource after our
 * documented rewrites, and every decimal must have the text the file wrote (`1.50` stays `1.50`).
 */
const EXAMPLES = path.resolve(REPO_ROOT, '..', 'shared', 'data', 'fhir-r4-examples', 'r4-examples.tar.gz');
const UNPACKED_BUNDLE_TYPES = new Set(['batch', 'transaction', 'collection', 'searchset', 'history']);

type Json = Record<string, unknown>;

/** One resource a file holds, as the file wrote it, and where it is recorded. */
interface Example {
  file: string;
  source: string;
  resourceType: string;
  sourceId: string;
  resource: Json;
  fullUrls: Map<string, { resourceType: string; id: string }>;
}

/** Every number token of a JSON text outside strings, as written: read from the text, not through a parser. */
function numberTokens(text: string): string[] {
  const tokens: string[] = [];
  for (const match of text.matchAll(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g)) {
    if (!match[0].startsWith('"')) tokens.push(match[0]);
  }
  return tokens;
}

/** The numbers of a parsed value as written (a FhirDecimal's text, a number's String), keys in sorted order. */
function numbersIn(value: unknown): string[] {
  if (value instanceof FhirDecimal) return [value.text];
  if (typeof value === 'number') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(numbersIn);
  if (value && typeof value === 'object') {
    return Object.keys(value)
      .sort()
      .flatMap((key) => numbersIn((value as Json)[key]));
  }
  return [];
}

const hasTrailingZero = (token: string) => /\.\d*0(?:[eE]|$)/.test(token);

/**
 * A number in exponent notation as PostgreSQL's numeric (jsonb) writes it: positionally, with max(0, fraction
 * digits - exponent) decimals. The one rewrite of a decimal's text (README, "decimals").
 */
function positional(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(text);
  if (!match) return text;
  const [, sign, int, frac = '', exp] = match;
  const scale = Math.max(0, frac.length - Number(exp));
  const digits = BigInt(int + frac) * 10n ** BigInt(Math.max(0, Number(exp) - frac.length));
  const written = digits.toString().padStart(scale + 1, '0');
  return `${sign}${scale > 0 ? `${written.slice(0, -scale)}.${written.slice(-scale)}` : written}`;
}

/** The file's resource with the README's documented rewrites applied: what we must serve. */
function asRecorded(example: Example): Json {
  const { source, resourceType, sourceId, fullUrls } = example;
  const rewrite = (value: unknown): unknown => {
    if (value instanceof FhirDecimal) {
      const text = positional(value.text);
      return text === value.text ? value : parseFhirJson(text);
    }
    if (Array.isArray(value)) return value.map(rewrite);
    if (!value || typeof value !== 'object') return value;
    const out: Json = {};
    for (const [key, member] of Object.entries(value)) out[key] = rewrite(member);
    if (typeof out.reference === 'string') {
      const viaBundle = fullUrls.get(out.reference);
      const parsed = parseReference(out.reference);
      if (viaBundle) {
        out.reference = `${viaBundle.resourceType}/${aggregateIdOf(source, viaBundle.resourceType, viaBundle.id)}`;
      } else if (parsed.kind === 'literal') {
        out.reference = `${parsed.resourceType}/${aggregateIdOf(source, parsed.resourceType, parsed.id)}`;
      }
    }
    return out;
  };
  const recorded = rewrite(example.resource) as Json;
  recorded.id = aggregateIdOf(source, resourceType, sourceId);
  const { versionId: _v, lastUpdated: _l, ...meta } = (recorded.meta ?? {}) as Json;
  recorded.meta = { ...meta, source: `${sourceSystemUri(source)}#${resourceType}/${sourceId}` };
  return recorded;
}

/** The served resource without what is ours by definition (meta.versionId, meta.lastUpdated). */
function withoutOurMeta(resource: Json): Json {
  const { versionId, lastUpdated, ...meta } = (resource.meta ?? {}) as Json;
  expect([typeof versionId, typeof lastUpdated]).toEqual(['string', 'string']);
  return { ...resource, meta };
}

function examplesOf(file: string, source: string, text: string): Example[] {
  const resource = parseFhirJson(text) as Json;
  if (resource.resourceType !== 'Bundle' || !UNPACKED_BUNDLE_TYPES.has(String(resource.type))) {
    const sourceId = String(resource.id);
    return [
      { file, source, resourceType: String(resource.resourceType), sourceId, resource, fullUrls: new Map() },
    ];
  }
  const entries = (resource.entry ?? []) as {
    fullUrl?: string;
    resource?: Json;
    request?: { method?: string };
  }[];
  const fullUrls = new Map<string, { resourceType: string; id: string }>();
  const examples: Example[] = [];
  for (const entry of entries) {
    if (!entry.resource || entry.request?.method === 'DELETE') continue;
    const resourceType = String(entry.resource.resourceType);
    const fromUrn = /^urn:uuid:(.+)$/i.exec(entry.fullUrl ?? '')?.[1];
    const sourceId = typeof entry.resource.id === 'string' ? entry.resource.id : fromUrn;
    if (!sourceId) throw new Error(`${file}: an entry without id or urn:uuid fullUrl`);
    if (entry.fullUrl) fullUrls.set(entry.fullUrl, { resourceType, id: sourceId });
    examples.push({
      file,
      source,
      resourceType,
      sourceId,
      resource: { ...entry.resource, id: sourceId },
      fullUrls,
    });
  }
  return examples;
}

describe('the 711 FHIR R4 examples read back as written (service over HTTP, real PostgreSQL)', () => {
  let harness: AggregatorHarness;
  let dir: string;
  const examples: Example[] = [];
  /** Files whose text writes a decimal JS would rewrite, and those among them with trailing zeros. */
  const filesWithDecimals = new Set<string>();
  const filesWithTrailingZeros = new Set<string>();
  let files: string[] = [];
  const rejected: { code: string; file?: string }[] = [];
  const misparsed: string[] = [];

  beforeAll(async () => {
    if (!existsSync(EXAMPLES))
      throw new Error(`${EXAMPLES} is missing: place ../shared/data beside the project`);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-r4-examples-'));
    execFileSync('tar', ['xzf', EXAMPLES, '-C', dir]);
    files = (await fs.readdir(dir)).filter((name) => name.endsWith('.json')).sort();
    harness = await startAggregator();
    const ingestion = harness.app.get(FileIngestionService);
    for (const [index, name] of files.entries()) {
      const file = path.join(dir, name);
      const text = readFileSync(file, 'utf8');
      const source = `ex-${index}`;
      const tokens = numberTokens(text);
      // The reference the test trusts is the file's text: the parse must give back exactly its numbers.
      if (numbersIn(parseFhirJson(text)).sort().join() !== [...tokens].sort().join()) misparsed.push(name);
      if (tokens.some((t) => String(Number(t)) !== t)) filesWithDecimals.add(name);
      if (tokens.some(hasTrailingZero)) filesWithTrailingZeros.add(name);
      examples.push(...examplesOf(name, source, text));
      const summary = await ingestion.ingest(source, [file], { ingestionInstance: 'test' });
      rejected.push(...summary.rejected.map((r) => ({ code: r.code, file: name })));
    }
    await harness.runtime.runner.waitForCatchUp(120_000);
  }, 300_000);
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const read = async (url: string): Promise<{ status: number; text: string }> => {
    const response = await harness.http().get(url).buffer(true);
    return { status: response.status, text: response.text };
  };

  it('records every example; only Bundle entries that carry no resource are rejected', () => {
    expect(files).toHaveLength(711);
    expect(misparsed).toEqual([]);
    // Entries of batch/transaction Bundles that only GET or search, and a conditional DELETE
    // ("Patient?identifier=123456"), which a source cannot ask of us: documented rejections, nothing else.
    expect(rejected.filter((r) => r.code !== 'bundle-entry-without-resource')).toEqual([
      { code: 'invalid-delete', file: 'Bundle-bundle-transaction.json' },
    ]);
    expect(examples.length).toBeGreaterThan(3000);
  });

  it('serves every resource equal to its file after the documented rewrites, every decimal as written', async () => {
    const byResource = new Map<string, Example[]>();
    for (const example of examples) {
      const key = `${example.resourceType}/${aggregateIdOf(example.source, example.resourceType, example.sourceId)}`;
      byResource.set(key, [...(byResource.get(key) ?? []), example]);
    }
    const differences: string[] = [];
    const decimalsPassed = new Set<string>();
    const decimalsFailed = new Set<string>();
    for (const [key, occurrences] of byResource) {
      // A file holding one resource twice (Bundle-bundle-references.json) records two versions: each
      // occurrence must be one of them, the last the current one.
      const served: Json[] = [];
      const current = await read(`/fhir/${key}`);
      if (current.status !== 200) {
        differences.push(`${occurrences[0].file} ${key}: read ${current.status}`);
        continue;
      }
      served.push(withoutOurMeta(parseFhirJson(current.text) as Json));
      if (occurrences.length > 1) {
        const history = parseFhirJson((await read(`/fhir/${key}/_history`)).text) as {
          entry: { resource: Json }[];
        };
        served.push(...history.entry.map((e) => withoutOurMeta(e.resource)));
      }
      const servedCanonical = served.map(canonicalJson);
      for (const [n, occurrence] of occurrences.entries()) {
        const expected = canonicalJson(asRecorded(occurrence));
        const isCurrent = n === occurrences.length - 1;
        const ok = isCurrent ? servedCanonical[0] === expected : servedCanonical.includes(expected);
        const written = numbersIn(asRecorded(occurrence));
        if (written.some((t) => String(Number(t)) !== t)) {
          (ok ? decimalsPassed : decimalsFailed).add(occurrence.file);
        }
        if (!ok) {
          let at = 0;
          while (at < expected.length && expected[at] === servedCanonical[0][at]) at++;
          const around = (text: string) => text.slice(Math.max(0, at - 80), at + 120);
          differences.push(
            `${occurrence.file} ${key} at ${at}:\n  expected …${around(expected)}\n  served   …${around(servedCanonical[0])}`,
          );
        }
      }
    }
    expect({ count: differences.length, first: differences.slice(0, 5) }).toEqual({ count: 0, first: [] });
    expect(decimalsFailed).toEqual(new Set());
    // Every file that writes such a decimal: 39 with trailing zeros (35 resources, 4 collection Bundles), one
    // with 17 significant digits (Observation-body-height), one with exponents too (Observation-decimal).
    expect(decimalsPassed).toEqual(filesWithDecimals);
    expect([...filesWithTrailingZeros].filter((f) => !decimalsPassed.has(f))).toEqual([]);
    expect([filesWithDecimals.size, filesWithTrailingZeros.size]).toEqual([40, 39]);
  }, 300_000);

  it('keeps the decimals in vread, history, search and a search by number', async () => {
    const decimalExamples = examples.filter(
      (e) => filesWithTrailingZeros.has(e.file) && numbersIn(e.resource).some(hasTrailingZero),
    );
    expect(decimalExamples.length).toBeGreaterThanOrEqual(39);
    for (const example of decimalExamples) {
      const id = aggregateIdOf(example.source, example.resourceType, example.sourceId);
      const expected = numbersIn(asRecorded(example));
      const current = parseFhirJson((await read(`/fhir/${example.resourceType}/${id}`)).text) as Json;
      const versionId = (current.meta as { versionId: string }).versionId;
      const vread = parseFhirJson(
        (await read(`/fhir/${example.resourceType}/${id}/_history/${versionId}`)).text,
      );
      const history = parseFhirJson((await read(`/fhir/${example.resourceType}/${id}/_history`)).text) as {
        entry: { resource: Json }[];
      };
      const search = parseFhirJson((await read(`/fhir/${example.resourceType}?_id=${id}`)).text) as {
        entry: { resource: Json }[];
      };
      expect({
        file: example.file,
        vread: numbersIn(vread),
        history: numbersIn(history.entry[0].resource),
        search: numbersIn(search.entry[0].resource),
      }).toEqual({ file: example.file, vread: expected, history: expected, search: expected });
    }
    // Observation-body-height writes 66.899999999999991, the same double as 66.899999999999992: the index keeps
    // the text, so eq over the written precision tells them apart.
    const height = examples.find((e) => e.file === 'Observation-body-height.json')!;
    const id = aggregateIdOf(height.source, 'Observation', height.sourceId);
    const total = async (value: string) =>
      (
        parseFhirJson((await read(`/fhir/Observation?value-quantity=${value}&_id=${id}`)).text) as {
          total?: number;
        }
      ).total;
    expect(await total('66.899999999999991')).toBe(1);
    expect(await total('66.899999999999992')).toBe(0);
    expect(await total('66.9')).toBe(1);
  }, 120_000);
});
