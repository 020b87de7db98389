import type { CapabilityStatementRestResource } from 'fhir/r4';
import { AuditSearchCriteria } from '@fa/audit';
import { FHIR_ID_PATTERN, parseFhirDateRange } from '@fa/fhir';
import { FhirError } from '../../fhir-error';
import { asOfParam, countParam, isStrict, QueryParams, single } from '../fhir-params';

export const AUDIT_SEARCH_PARAMETERS = [
  'patient',
  'patient:missing',
  'date',
  'date:missing',
  'agent',
  'agent:missing',
  '_count',
  '_cursor',
  '_asOf',
] as const;

/** AuditEvent as the CapabilityStatement lists it: served from the access audit, not the FHIR store. */
export const AUDIT_EVENT_CAPABILITY: CapabilityStatementRestResource = {
  type: 'AuditEvent',
  documentation:
    'The access audit (IHE BALP shape), newest first; needs the system/fhir-aggregator.audit scope. Reading it is audited.',
  interaction: [{ code: 'read' }, { code: 'search-type' }],
  searchParam: [
    {
      name: 'patient',
      type: 'reference',
      documentation: 'Patient/<id> whose data the audited answer carried',
    },
    {
      name: 'date',
      type: 'date',
      documentation: 'when the answer was recorded (repeatable: eq ge gt le lt sa eb)',
    },
    {
      name: 'agent',
      type: 'token',
      documentation: 'the client id, or "anonymous" for answers without a principal',
    },
    { name: '_asOf', type: 'date', documentation: 'records recorded at or before this instant' },
  ],
};
const CLIENT_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * GET /fhir/AuditEvent's parameters: patient (Patient/<id> or an id), date (repeatable, with eq ge gt le lt sa
 * eb), agent (a client id, or `anonymous` for requests without a principal), each also with `:missing`, _count
 * (0: no entries), _cursor (the next page's seq), _asOf. A malformed value is 400 naming it; unknown parameters are ignored (reported in the Bundle) or,
 * under Prefer: handling=strict, 400.
 */
export function auditSearchCriteria(
  params: QueryParams,
  prefer: string | undefined,
): { criteria: AuditSearchCriteria; unknown: string[] } {
  const unknown = Object.keys(params).filter(
    (name) => !(AUDIT_SEARCH_PARAMETERS as readonly string[]).includes(name),
  );
  if (unknown.length > 0 && isStrict(prefer))
    throw FhirError.badRequest(`Unknown parameter ${unknown.join(', ')} for AuditEvent`, unknown[0]);
  let recordedFrom: Date | undefined;
  let recordedBefore: Date | undefined;
  const later = (a: Date | undefined, b: Date) => (a && a > b ? a : b);
  const earlier = (a: Date | undefined, b: Date) => (a && a < b ? a : b);
  const dates = params.date === undefined ? [] : Array.isArray(params.date) ? params.date : [params.date];
  for (const value of dates) {
    const match = /^(eq|ge|gt|le|lt|sa|eb)?(.*)$/.exec(value)!;
    const range = parseFhirDateRange(match[2]);
    if (!range)
      throw FhirError.badRequest(
        `date must be a FHIR date, dateTime or instant with an optional prefix eq, ge, gt, le, lt, sa or eb, got ${JSON.stringify(value.slice(0, 64))}`,
        'date',
      );
    const afterEnd = new Date(range.end.getTime() + 1);
    switch (match[1] ?? 'eq') {
      case 'eq':
        recordedFrom = later(recordedFrom, range.start);
        recordedBefore = earlier(recordedBefore, afterEnd);
        break;
      case 'ge':
        recordedFrom = later(recordedFrom, range.start);
        break;
      case 'gt':
      case 'sa':
        recordedFrom = later(recordedFrom, afterEnd);
        break;
      case 'le':
        recordedBefore = earlier(recordedBefore, afterEnd);
        break;
      default:
        recordedBefore = earlier(recordedBefore, range.start);
    }
  }
  const asOf = asOfParam(params);
  if (asOf) recordedBefore = earlier(recordedBefore, new Date(asOf.getTime() + 1));
  const count = countParam(params);
  const cursor = single(params, '_cursor');
  if (cursor !== undefined && !/^[1-9]\d{0,15}$/.test(cursor))
    throw FhirError.badRequest('_cursor must be the value of a next link', '_cursor');
  return {
    criteria: {
      patient: patientParam(single(params, 'patient')),
      agent: agentParam(single(params, 'agent')),
      recordedFrom,
      recordedBefore,
      beforeSeq: cursor === undefined ? undefined : Number(cursor),
      patientMissing: missingParam(params, 'patient:missing'),
      agentMissing: missingParam(params, 'agent:missing'),
      // Every record has a date: date:missing=true matches none.
      count: missingParam(params, 'date:missing') ? 0 : count,
    },
    unknown,
  };
}

function missingParam(params: QueryParams, name: string): boolean | undefined {
  const value = single(params, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false')
    throw FhirError.badRequest(
      `${name} must be true or false, got ${JSON.stringify(value.slice(0, 16))}`,
      name,
    );
  return value === 'true';
}

function patientParam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const id = /^(?:.*\/)?Patient\/([^/]+)$/.exec(value)?.[1] ?? value;
  if (!FHIR_ID_PATTERN.test(id))
    throw FhirError.badRequest(
      `patient must be Patient/<id> or a Patient id, got ${JSON.stringify(value.slice(0, 64))}`,
      'patient',
    );
  return `Patient/${id}`;
}

function agentParam(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'anonymous') return null;
  if (!CLIENT_ID.test(value))
    throw FhirError.badRequest(
      `agent must be a client id (letters, digits, . _ : @ -, at most 128) or "anonymous", got ${JSON.stringify(value.slice(0, 64))}`,
      'agent',
    );
  return value;
}
