import type { Bundle, BundleEntry, BundleLink, OperationOutcome } from 'fhir/r4';
import type { StoredVersion } from '@fa/fhir-store';
import { subsetElements } from '@fa/fhir';

/** What a searchset entry needs of a stored version (a golden Patient built on read has no more). */
export type BundledResource = Pick<StoredVersion, 'resourceType' | 'id' | 'resource'>;

export interface PageLinks {
  self: string;
  next?: string;
  previous?: string;
}

/**
 * Links for offset paging over a pinned instant: every link after the first page carries _asOf, so pages keep
 * describing the same moment while new versions arrive.
 */
export function pageLinks(
  base: string,
  path: string,
  params: Record<string, string | string[] | undefined>,
  paging: { offset: number; count: number; hasMore: boolean; pinnedAt: Date },
): PageLinks {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (key === '_offset' || key === '_asOf' || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) query.append(key, v);
  }
  const url = (offset: number | undefined, pinned: boolean) => {
    const q = new URLSearchParams(query);
    if (pinned) q.set('_asOf', paging.pinnedAt.toISOString());
    if (offset) q.set('_offset', String(offset));
    const text = q.toString();
    return `${base}${path}${text ? `?${text}` : ''}`;
  };
  const pinnedSelf = params._asOf !== undefined;
  return {
    self: url(paging.offset, pinnedSelf),
    ...(paging.hasMore && paging.count > 0 ? { next: url(paging.offset + paging.count, true) } : {}),
    ...(paging.offset > 0 ? { previous: url(Math.max(0, paging.offset - paging.count), true) } : {}),
  };
}

export function searchBundle(options: {
  base: string;
  links: PageLinks;
  matches: BundledResource[];
  included?: BundledResource[];
  total?: number;
  elements?: string[];
  outcome?: OperationOutcome;
}): Bundle {
  const link: BundleLink[] = [{ relation: 'self', url: options.links.self }];
  if (options.links.next) link.push({ relation: 'next', url: options.links.next });
  if (options.links.previous) link.push({ relation: 'previous', url: options.links.previous });
  const entry: BundleEntry[] = [
    ...options.matches.map((version) => ({
      fullUrl: `${options.base}/${version.resourceType}/${version.id}`,
      resource: options.elements ? subsetElements(version.resource!, options.elements) : version.resource!,
      search: { mode: 'match' as const },
    })),
    ...(options.included ?? []).map((version) => ({
      fullUrl: `${options.base}/${version.resourceType}/${version.id}`,
      resource: version.resource!,
      search: { mode: 'include' as const },
    })),
  ];
  if (options.outcome) entry.push({ resource: options.outcome, search: { mode: 'outcome' } });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(options.total !== undefined ? { total: options.total } : {}),
    link,
    entry,
  };
}

/**
 * The Bundle's OperationOutcome entry (search.mode outcome): parameters it ignored under lenient handling, and
 * includes cut at the include limit (the matches are complete; the included resources are the first so many).
 */
export function searchOutcome(unknown: string[], includedCutAt?: number): OperationOutcome | undefined {
  const issue: OperationOutcome['issue'] = unknown.map((name) => ({
    severity: 'warning' as const,
    code: 'not-supported' as const,
    diagnostics: `Unknown search parameter ${JSON.stringify(name.slice(0, 64))} was ignored (Prefer: handling=lenient)`,
    expression: [name],
  }));
  if (includedCutAt !== undefined)
    issue.push({
      severity: 'warning',
      code: 'incomplete',
      diagnostics: `_include/_revinclude found more than ${includedCutAt} resources for this page (the server's INCLUDE_LIMIT): the matches are complete, only the first ${includedCutAt} included resources are here; ask for a smaller _count, or read the referencing resources with their own search`,
      expression: ['_include', '_revinclude'],
    });
  return issue.length > 0 ? { resourceType: 'OperationOutcome', issue } : undefined;
}
