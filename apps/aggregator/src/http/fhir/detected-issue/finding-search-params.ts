import {
  FHIR_ID_PATTERN,
  parseFhirDateRange,
  parseSearchRequest,
  r4SearchParameters,
  SearchParameterError,
  type SearchRequest,
} from '@fa/fhir';
import type { CapabilityStatementRestResource } from 'fhir/r4';
import type { FindingSearch } from '@fa/revenue-cycle';
import { FhirError } from '../../fhir-error';
import { asOfParam, countParam, nonNegativeIntegerParam, QueryParams, single } from '../fhir-params';

const FILTERS = ['patient', 'date', 'kind', 'status'] as const;
const KNOWN = new Set([
  ...FILTERS,
  ...FILTERS.map((name) => `${name}:missing`),
  '_asOf',
  '_count',
  '_offset',
  '_total',
  '_summary',
]);
/** Parameters only findings have: with one, the DetectedIssues sources sent (no duplicate-claim kind) match none. */
const FINDINGS_ONLY = new Set(['kind', 'status', 'kind:missing', 'status:missing']);

/**
 * Which DetectedIssues a search asks for: `both` (the findings, then the DetectedIssues sources sent, in one
 * answer: patient, date, their :missing, _asOf, _count, _offset, _total, _summary=count), `findings` (with kind
 * or status), or `store` (with a parameter only the FHIR store's DetectedIssues have: code, author, identified,
 * implicated, _id, …, answered by the generic search). Both kinds of parameters at once is a 400.
 */
export function detectedIssueSearchMode(params: QueryParams): 'both' | 'findings' | 'store' {
  const names = Object.keys(params);
  const storeOnly = names.filter((name) => !KNOWN.has(name));
  const findingsOnly = names.filter((name) => FINDINGS_ONLY.has(name));
  if (storeOnly.length > 0 && findingsOnly.length > 0) {
    throw FhirError.badRequest(
      `${findingsOnly[0]} selects duplicate-claim findings and ${storeOnly[0].slice(0, 64)} the DetectedIssues sources sent: not both in one search`,
      storeOnly[0],
    );
  }
  return storeOnly.length > 0 ? 'store' : findingsOnly.length > 0 ? 'findings' : 'both';
}
const STATUSES: Record<string, string> = {
  preliminary: 'open',
  final: 'confirmed',
  cancelled: 'dismissed',
  'entered-in-error': 'withdrawn',
};

/**
 * The CapabilityStatement's DetectedIssue entry: the FHIR store's (every R4 parameter, for the DetectedIssues
 * sources sent) with what the findings add: patient and date for both, kind and status for findings only.
 */
export function detectedIssueCapability(
  store: CapabilityStatementRestResource,
): CapabilityStatementRestResource {
  const own = new Map(FINDING_PARAMETERS.map((p) => [p.name, p]));
  return {
    ...store,
    documentation:
      'Search and read: the duplicate-claim findings of the Revenue Cycle context and the DetectedIssues sources sent, as of any instant. ' +
      'patient, date, _asOf, _count, _offset, _total and _summary=count page both in one answer (findings first); kind or status selects findings only; ' +
      'any other parameter selects the DetectedIssues sources sent (the findings have no such element to match); both kinds at once is 400.',
    searchParam: [
      ...(store.searchParam ?? []).map((p) => {
        const finding = own.get(p.name);
        return finding
          ? { ...p, documentation: `sources' DetectedIssues: as R4; findings: ${finding.documentation}` }
          : p;
      }),
      ...FINDING_PARAMETERS.filter((p) => !store.searchParam?.some((s) => s.name === p.name)),
    ],
  };
}

const FINDING_PARAMETERS: NonNullable<CapabilityStatementRestResource['searchParam']> = [
  { name: 'patient', type: 'reference', documentation: 'Patient/<id>, golden or source' },
  {
    name: 'date',
    type: 'date',
    documentation: "the claim's first day of service (eq ge gt le lt, repeatable)",
  },
  { name: 'kind', type: 'token', documentation: 'exact | suspect' },
  {
    name: 'status',
    type: 'token',
    documentation:
      'preliminary (open), final (confirmed), cancelled (dismissed), entered-in-error (withdrawn)',
  },
];

/**
 * DetectedIssue search over duplicate-claim findings: patient (Patient/<id>, golden or source), date (the
 * claim's first day of service, with eq/ge/le/gt/lt prefixes, repeatable), kind (exact | suspect), status
 * (DetectedIssue status), each also with :missing (every finding has all four: true matches none), _asOf, _count,
 * _offset. Anything else is a 400 naming it.
 */
export function findingSearchOf(
  params: QueryParams,
): FindingSearch & { matchesNothing: boolean; summaryCount: boolean } {
  for (const name of Object.keys(params)) {
    if (!KNOWN.has(name)) {
      throw FhirError.badRequest(
        `Unknown DetectedIssue search parameter ${JSON.stringify(name.slice(0, 64))}; known: ${[...KNOWN].join(', ')}`,
        name,
      );
    }
  }
  let matchesNothing = false;
  for (const name of FILTERS) {
    const missing = single(params, `${name}:missing`);
    if (missing === undefined) continue;
    if (missing !== 'true' && missing !== 'false')
      throw FhirError.badRequest(`${name}:missing must be true or false`, `${name}:missing`);
    if (missing === 'true') matchesNothing = true;
  }
  const total = single(params, '_total');
  if (total !== undefined && !['none', 'estimate', 'accurate'].includes(total))
    throw FhirError.badRequest('_total must be none, estimate or accurate', '_total');
  const summary = single(params, '_summary');
  if (summary !== undefined && summary !== 'count' && summary !== 'false')
    throw FhirError.badRequest('_summary supports count and false', '_summary');
  const search: FindingSearch & { matchesNothing: boolean; summaryCount: boolean } = {
    matchesNothing,
    summaryCount: summary === 'count',
    asOf: asOfParam(params) ?? new Date(),
    limit: countParam(params),
    offset: nonNegativeIntegerParam(params, '_offset') ?? 0,
  };
  const patient = single(params, 'patient');
  if (patient !== undefined) {
    const id = patient.replace(/^Patient\//, '');
    if (!FHIR_ID_PATTERN.test(id))
      throw FhirError.badRequest('patient must be Patient/<id> or <id>', 'patient');
    search.patientId = id;
  }
  const kind = single(params, 'kind');
  if (kind !== undefined) {
    if (kind !== 'exact' && kind !== 'suspect')
      throw FhirError.badRequest('kind must be exact or suspect', 'kind');
    search.kind = kind;
  }
  const status = single(params, 'status');
  if (status !== undefined) {
    if (!STATUSES[status]) {
      throw FhirError.badRequest(`status must be one of ${Object.keys(STATUSES).join(', ')}`, 'status');
    }
    search.status = STATUSES[status];
  }
  const dates = params.date === undefined ? [] : Array.isArray(params.date) ? params.date : [params.date];
  for (const value of dates) applyDate(search, value);
  return search;
}

function applyDate(search: FindingSearch, value: string): void {
  const match = /^(eq|ge|le|gt|lt)?(.*)$/.exec(value)!;
  const prefix = match[1] ?? 'eq';
  const range = parseFhirDateRange(match[2]);
  if (!range) {
    throw FhirError.badRequest(
      `date must be a FHIR date with an optional eq, ge, le, gt or lt prefix, got ${JSON.stringify(value.slice(0, 64))}`,
      'date',
    );
  }
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const next = (d: Date) => day(new Date(d.getTime() + 1));
  const before = (d: Date) => day(new Date(d.getTime() - 1));
  const from = prefix === 'gt' ? next(range.end) : day(range.start);
  const to = prefix === 'lt' ? before(range.start) : day(range.end);
  if (prefix === 'eq' || prefix === 'ge' || prefix === 'gt') search.dateFrom = max(search.dateFrom, from);
  if (prefix === 'eq' || prefix === 'le' || prefix === 'lt') search.dateTo = min(search.dateTo, to);
}

const max = (a: string | undefined, b: string) => (a === undefined || b > a ? b : a);
const min = (a: string | undefined, b: string) => (a === undefined || b < a ? b : a);

/**
 * The FHIR store's half of a search over both: the shared filters (patient, date, their :missing) as R4 defines
 * them for DetectedIssue (which calls the date `identified`), at the findings' instant; the caller sets the page.
 */
export function storeSearchOf(params: QueryParams, asOf: Date): SearchRequest {
  const shared = Object.fromEntries(
    Object.entries(params)
      .filter(([name]) => /^(patient|date)(:missing)?$/.test(name))
      .map(([name, value]) => [name.replace(/^date/, 'identified'), value]),
  );
  try {
    return { ...parseSearchRequest('DetectedIssue', shared, r4SearchParameters()), asOf };
  } catch (error) {
    if (error instanceof SearchParameterError) throw FhirError.badRequest(error.message, error.parameter);
    throw error;
  }
}
