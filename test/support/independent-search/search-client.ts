import type { Bundle, OperationOutcome, Resource as FhirResource } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import type { AggregatorHarness } from '../aggregator-harness';
import type { SourceKey } from './dataset';

/** The documented id rule, restated rather than imported: UUIDv5 of "source|type|id". */
export const ourIdIn = (source: string) => (type: string, sourceId: string) =>
  uuidv5(`${source}|${type}|${sourceId}`, AGGREGATOR_NAMESPACE);

export interface SearchPage {
  bundle: Bundle;
  matches: SourceKey[];
  includes: SourceKey[];
  outcomes: OperationOutcome[];
}

export interface SearchResult {
  /** Match keys in the order served, all pages. */
  matches: SourceKey[];
  pages: SearchPage[];
  /** Bundle.total of the first page. */
  total: number | undefined;
  /** Served resources (matches and includes) by source key, last seen wins. */
  served: Map<SourceKey, FhirResource>;
  /** Wall-clock time of the first page's request. */
  firstPageMs: number;
  /** Contract breaches noticed while paging (duplicate matches, malformed entries, relative links). */
  problems: string[];
}

/** `urn:fhir-aggregator:source:<source>#<Type>/<sourceId>` → `<Type>/<sourceId>`, checking the id rule. */
function sourceKeyOf(
  resource: FhirResource,
  source: string,
  ourId: (type: string, sourceId: string) => string,
  problems: string[],
): SourceKey {
  const prefix = `urn:fhir-aggregator:source:${source}#`;
  const metaSource = resource.meta?.source ?? '';
  if (!metaSource.startsWith(prefix)) {
    problems.push(`${resource.resourceType}/${resource.id}: meta.source ${JSON.stringify(metaSource)}`);
    return `${resource.resourceType}/?${resource.id}`;
  }
  const key = metaSource.slice(prefix.length);
  const [type, sourceId] = key.split('/');
  if (type !== resource.resourceType || resource.id !== ourId(type, sourceId)) {
    problems.push(`${resource.resourceType}/${resource.id}: id does not follow the id rule for ${key}`);
  }
  return key;
}

/** Path and query of an absolute link, to replay it against the in-process server. */
function relative(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

/**
 * GETs a search (or $everything) and follows every `next` link to the end. Throws with the server's diagnostics
 * when a page is not 200.
 */
export async function searchAll(
  harness: Pick<AggregatorHarness, 'http'>,
  url: string,
  options: { source: string; headers?: Record<string, string>; maxPages?: number },
): Promise<SearchResult> {
  const ourId = ourIdIn(options.source);
  const result: SearchResult = {
    matches: [],
    pages: [],
    total: undefined,
    served: new Map(),
    firstPageMs: 0,
    problems: [],
  };
  const seen = new Set<SourceKey>();
  let next: string | undefined = url;
  while (next !== undefined) {
    if (result.pages.length >= (options.maxPages ?? 500)) {
      result.problems.push(`more than ${options.maxPages ?? 500} pages; stopped following next`);
      break;
    }
    const started = performance.now();
    let call = harness.http().get(next);
    for (const [name, value] of Object.entries(options.headers ?? {})) call = call.set(name, value);
    const response = await call;
    if (result.pages.length === 0) result.firstPageMs = performance.now() - started;
    if (response.status !== 200) {
      const diagnostics = (response.body as OperationOutcome)?.issue?.[0]?.diagnostics;
      throw new Error(
        `GET ${next} → ${response.status}${diagnostics ? `: ${diagnostics}` : ''} (page ${result.pages.length + 1})`,
      );
    }
    const bundle = response.body as Bundle;
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'searchset') {
      throw new Error(`GET ${next} → not a searchset Bundle: ${JSON.stringify(bundle).slice(0, 200)}`);
    }
    if (result.pages.length === 0) result.total = bundle.total;
    const page: SearchPage = { bundle, matches: [], includes: [], outcomes: [] };
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (!resource) {
        result.problems.push(`entry without resource on page ${result.pages.length + 1}`);
        continue;
      }
      if (entry.search?.mode === 'outcome') {
        page.outcomes.push(resource as OperationOutcome);
        continue;
      }
      const key = sourceKeyOf(resource, options.source, ourId, result.problems);
      if (!entry.fullUrl?.endsWith(`/fhir/${resource.resourceType}/${resource.id}`)) {
        result.problems.push(`${key}: fullUrl ${entry.fullUrl}`);
      }
      result.served.set(key, resource);
      if (entry.search?.mode === 'include') {
        if (page.includes.includes(key)) result.problems.push(`${key} included twice on one page`);
        page.includes.push(key);
      } else if (entry.search?.mode === 'match') {
        if (seen.has(key)) result.problems.push(`${key} matched twice (page ${result.pages.length + 1})`);
        seen.add(key);
        page.matches.push(key);
        result.matches.push(key);
      } else {
        result.problems.push(`${key}: search.mode ${JSON.stringify(entry.search?.mode)}`);
      }
    }
    result.pages.push(page);
    if (!bundle.link?.some((l) => l.relation === 'self')) result.problems.push('page without a self link');
    const nextLink = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (nextLink !== undefined && !/^https?:\/\//.test(nextLink)) {
      result.problems.push(`next link is not absolute: ${nextLink}`);
      next = nextLink;
    } else {
      next = nextLink === undefined ? undefined : relative(nextLink);
    }
  }
  return result;
}
