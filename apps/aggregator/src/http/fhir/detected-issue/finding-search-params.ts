import { FHIR_ID_PATTERN, parseFhirDateRange } from '@fa/fhir';
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
]);
const STATUSES: Record<string, string> = {
  preliminary: 'open',
  final: 'confirmed',
  cancelled: 'dismissed',
  'entered-in-error': 'withdrawn',
};

/** The CapabilityStatement's DetectedIssue entry: exactly what findingSearchOf serves. */
export const DETECTED_ISSUE_CAPABILITY: CapabilityStatementRestResource = {
  type: 'DetectedIssue',
  documentation:
    'Search: the duplicate-claim findings of the Revenue Cycle context, as of any instant. Read: a finding, or else a DetectedIssue a source sent (those are read, not searched).',
  interaction: [{ code: 'read' }, { code: 'search-type' }],
  searchParam: [
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
    { name: '_asOf', type: 'date', documentation: 'the findings as they stood at this instant' },
  ],
};

/**
 * DetectedIssue search over duplicate-claim findings: patient (Patient/<id>, golden or source), date (the
 * claim's first day of service, with eq/ge/le/gt/lt prefixes, repeatable), kind (exact | suspect), status
 * (DetectedIssue status), each also with :missing (every finding has all four: true matches none), _asOf, _count,
 * _offset. Anything else is a 400 naming it.
 */
export function findingSearchOf(params: QueryParams): FindingSearch & { matchesNothing: boolean } {
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
  const search: FindingSearch & { matchesNothing: boolean } = {
    matchesNothing,
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
