import { HttpStatus } from '@nestjs/common';
import type { QueryBus } from '@nestjs/cqrs';
import type { Parameters } from 'fhir/r4';
import {
  ExportJobsQuery,
  ExportLevel,
  ExportRequestedData,
  ExportSnapshotQuery,
  parseTypeFilter,
  splitTypeFilter,
  TypeFilterError,
} from '@fa/bulk-data';
import { FhirOperationDefinition, isR4ResourceType, OperationInput } from '@fa/fhir';
import { ExportTypesQuery } from '@fa/fhir-store';
import type { ExportConfig } from '@fa/platform';
import { FhirError } from '../../fhir-error';
import type { Principal } from '../../security/access-policy';
import { grantedSearchConstraint, ReadableResources } from '../../security/readable-resources';
import { operationInput, QueryParams } from '../fhir-params';
import { KickOffIssues } from './export-issues';
import { groupPatients, patientsBehind } from './export-patients';

const OUTPUT_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const ELEMENT = /^([A-Z][A-Za-z]+\.)?[a-z][A-Za-z0-9]*$/;

export interface KickOff {
  jobId: string;
  level: ExportLevel;
  definition: FhirOperationDefinition;
  groupId?: string;
  input: QueryParams | Parameters | undefined;
  headers: { accept?: string; prefer?: string };
  principal: Principal;
  /** The kick-off request's absolute URL. */
  url: string;
}

/** 429 with Retry-After: a client over its concurrent-export limit. */
export class TooManyExports extends FhirError {
  constructor(
    readonly retryAfterSeconds: number,
    diagnostics: string,
  ) {
    super(HttpStatus.TOO_MANY_REQUESTS, 'throttled', diagnostics);
  }
}

/**
 * A Bulk Data kick-off checked and resolved into the job it requests: every parameter parsed by the operation's
 * definition (a malformed one is 400 naming it), then the headers Bulk Data requires, then the snapshot instant,
 * the types (bounded by the token's scopes: a type outside them is reported, never silently dropped), the
 * `_typeFilter`s (parsed by the search parser: one it cannot run is 400, or under Prefer: handling=lenient an
 * error in the manifest) and, at Group level, the Group's members as of that instant.
 */
export async function resolveKickOff(
  queryBus: QueryBus,
  settings: ExportConfig,
  kickOff: KickOff,
): Promise<ExportRequestedData> {
  const lenient = /(^|[,;\s])handling\s*=\s*lenient\b/i.test(kickOff.headers.prefer ?? '');
  const raw = rawNames(kickOff.input);
  if (kickOff.level === 'system' && raw.includes('patient'))
    throw FhirError.badRequest(
      'patient is not supported by a system-level export: use Patient/$export or Group/<id>/$export',
      'patient',
    );
  // Strict unless the client asks for lenient handling: an unknown parameter is then 400 naming it.
  const { values, unknown } = operationInput(
    kickOff.definition,
    kickOff.input,
    lenient ? undefined : 'handling=strict',
  );
  const issues = new KickOffIssues(lenient);
  for (const name of unknown)
    issues.report({
      code: 'not-supported',
      diagnostics: `The parameter ${JSON.stringify(name.slice(0, 64))} is not supported and was not applied (Prefer: handling=lenient)`,
      expression: name,
    });
  checkHeaders(kickOff.headers);
  const format = values._outputFormat as string | undefined;
  if (format !== undefined && !OUTPUT_FORMATS.has(format))
    throw FhirError.badRequest(
      `_outputFormat must be application/fhir+ndjson, application/ndjson or ndjson, got ${JSON.stringify(format.slice(0, 64))}`,
      '_outputFormat',
    );
  const now = new Date();
  const asOf = (values._asOf as { end: Date } | undefined)?.end;
  if (asOf && asOf > now) throw FhirError.badRequest('_asOf is in the future', '_asOf');
  const since = (values._since as { start: Date } | undefined)?.start;
  if (since && since > now)
    throw FhirError.badRequest(`_since ${since.toISOString()} is in the future`, '_since');
  const until = (values._until as { start: Date } | undefined)?.start;
  const snapshot = asOf
    ? { transactionTime: asOf, horizon: undefined }
    : await queryBus.execute(new ExportSnapshotQuery());
  const at = snapshot.transactionTime;

  const requested = listOf(values._type);
  for (const type of requested ?? [])
    if (!isR4ResourceType(type))
      throw FhirError.badRequest(
        `_type: unknown resource type ${JSON.stringify(type.slice(0, 64))}`,
        '_type',
      );
  const elements = listOf(values._elements);
  for (const element of elements ?? []) {
    const type = element.includes('.') ? element.split('.')[0] : undefined;
    if (!ELEMENT.test(element) || (type !== undefined && !isR4ResourceType(type)))
      throw FhirError.badRequest(
        `_elements: ${JSON.stringify(element.slice(0, 64))} is not an element name nor <ResourceType>.<element>`,
        '_elements',
      );
  }
  let includeProvenance = false;
  for (const value of (values.includeAssociatedData as string[] | undefined) ?? []) {
    if (value === 'LatestProvenanceResources') includeProvenance = true;
    else
      issues.refuse(
        'not-supported',
        'includeAssociatedData',
        `includeAssociatedData: only LatestProvenanceResources is supported, got ${JSON.stringify(value.slice(0, 64))}`,
      );
  }

  const organizeOutputBy = values.organizeOutputBy as string | undefined;
  if (organizeOutputBy !== undefined && organizeOutputBy !== 'Patient')
    issues.refuse(
      'not-supported',
      'organizeOutputBy',
      `organizeOutputBy: only Patient is supported, got ${JSON.stringify(organizeOutputBy.slice(0, 64))}`,
    );
  const byPatient = organizeOutputBy === 'Patient';
  if (byPatient && includeProvenance) {
    issues.refuse(
      'not-supported',
      'includeAssociatedData',
      'includeAssociatedData is not supported with organizeOutputBy=Patient',
    );
    includeProvenance = false;
  }
  const patients = await patientsOf(queryBus, kickOff, values, at, issues);
  const available = await queryBus.execute(new ExportTypesQuery(at));
  const inScope = kickOff.level === 'system' ? undefined : new Set(available.patientCompartment);
  const candidates = (requested ?? available.present).filter((t) => !inScope || inScope.has(t));
  const readable = new ReadableResources(kickOff.principal);
  const types = readable.types(candidates) ?? candidates;
  const refused = candidates.filter((t) => !types.includes(t));
  if (refused.length > 0)
    issues.report({
      code: 'forbidden',
      diagnostics: `Not exported: the token's scopes do not grant read on ${refused.join(', ')}`,
      expression: '_type',
    });
  const constraints: Record<string, string> = {};
  for (const type of types) {
    const constraint = grantedSearchConstraint(kickOff.principal, type);
    if (constraint) constraints[type] = new URLSearchParams(constraint).toString();
  }
  const typeFilters = checkTypeFilters(listOf(values._typeFilter, false), types, issues);
  // A type whose every filter was refused is not exported unfiltered.
  const filteredOut = Object.entries(typeFilters)
    .filter(([, filters]) => filters.length === 0)
    .map(([t]) => t);
  const exported = types.filter((t) => !filteredOut.includes(t));
  for (const t of filteredOut) delete typeFilters[t];
  await checkClientLimit(queryBus, settings, kickOff.principal.clientId);
  return {
    jobId: kickOff.jobId,
    clientId: kickOff.principal.clientId,
    request: kickOff.url,
    level: kickOff.level,
    ...(kickOff.groupId ? { groupId: kickOff.groupId } : {}),
    transactionTime: at.toISOString(),
    ...(snapshot.horizon ? { horizon: snapshot.horizon } : {}),
    ...(since ? { since: since.toISOString() } : {}),
    ...(until ? { until: until.toISOString() } : {}),
    types: exported,
    typeFilters,
    ...(elements ? { elements } : {}),
    ...(patients ? { patients } : {}),
    includeProvenance,
    ...(byPatient ? { organizeOutputBy: 'Patient' as const } : {}),
    constraints,
    errors: issues.list,
    expiresAfterMs: settings.expiresAfterMs,
  };
}

function rawNames(input: KickOff['input']): string[] {
  if (!input) return [];
  if ((input as Parameters).resourceType === 'Parameters')
    return ((input as Parameters).parameter ?? []).map((p) => p.name);
  return Object.keys(input);
}

/** Bulk Data kick-off headers: Accept application/fhir+json and Prefer: respond-async. */
function checkHeaders(headers: KickOff['headers']): void {
  if (!/(^|[,\s])application\/fhir\+json\b/.test(headers.accept ?? ''))
    throw FhirError.badRequest(
      `A Bulk Data kick-off needs Accept: application/fhir+json, got ${JSON.stringify((headers.accept ?? '(none)').slice(0, 64))}`,
      'Accept',
    );
  if (!/(^|[,;\s])respond-async\b/i.test(headers.prefer ?? ''))
    throw FhirError.badRequest('A Bulk Data kick-off needs Prefer: respond-async', 'Prefer');
}

/** Comma-separated repeats as one list (`_type=A,B&_type=C`); undefined when absent. */
function listOf(value: unknown, split = true): string[] | undefined {
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [value]) as string[];
  if (items.length === 0) return undefined;
  return split
    ? items
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter(Boolean)
    : items;
}

function checkTypeFilters(
  filters: string[] | undefined,
  types: string[],
  issues: KickOffIssues,
): Record<string, string[]> {
  const byType: Record<string, string[]> = {};
  for (const value of filters ?? []) {
    try {
      const { type, query } = splitTypeFilter(value);
      if (!isR4ResourceType(type)) throw new TypeFilterError(`_typeFilter: unknown resource type ${type}`);
      parseTypeFilter(type, query);
      if (types.includes(type)) (byType[type] ??= []).push(query);
    } catch (error) {
      if (!(error instanceof TypeFilterError)) throw error;
      issues.refuse('not-supported', '_typeFilter', error.message);
      const type = /^([A-Z][A-Za-z]+)\?/.exec(value)?.[1];
      if (type && types.includes(type)) byType[type] ??= [];
    }
  }
  return byType;
}

/**
 * The patients of a Patient- or Group-level export: the `patient` parameter's (a golden patient standing for
 * its linked source patients), and at Group level the Group's members as of the export's instant (expanded the
 * same way). A `patient` not known at that instant, or at Group level outside the Group, is refused (strict:
 * 400 naming `patient`, the IG's error response; lenient: an error in the manifest, the others exported).
 */
async function patientsOf(
  queryBus: QueryBus,
  kickOff: KickOff,
  values: OperationInput['values'],
  at: Date,
  issues: KickOffIssues,
): Promise<string[] | undefined> {
  const given = (values.patient as string[] | undefined)?.map((reference) => {
    const match = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
    if (!match)
      throw FhirError.badRequest(
        `patient must be a Patient/<id> reference, got ${JSON.stringify(reference.slice(0, 64))}`,
        'patient',
      );
    return match[1];
  });
  const members =
    kickOff.level === 'group' ? await groupPatients(queryBus, kickOff.groupId!, at, issues) : undefined;
  if (!given || given.length === 0) return members ? [...members] : undefined;
  const asked = await patientsBehind(queryBus, new Set(given), at);
  const unknown = [...asked].filter(([, patients]) => patients.length === 0).map(([id]) => id);
  if (unknown.length > 0)
    issues.refuse('not-found', 'patient', `patient: ${listed(unknown)} not known at ${at.toISOString()}`);
  const outside = members
    ? [...asked]
        .filter(([, patients]) => patients.length > 0 && !patients.some((p) => members.has(p)))
        .map(([id]) => id)
    : [];
  if (outside.length > 0)
    issues.refuse(
      'invalid',
      'patient',
      `patient: ${listed(outside)} not in Group/${kickOff.groupId} at ${at.toISOString()}`,
    );
  const patients = new Set<string>();
  for (const ids of asked.values()) for (const id of ids) if (!members || members.has(id)) patients.add(id);
  return [...patients];
}

/** Up to five `Patient/<id>`s, then how many more. */
function listed(ids: string[]): string {
  const shown = ids
    .slice(0, 5)
    .map((id) => `Patient/${id}`)
    .join(', ');
  return ids.length > 5 ? `${shown} and ${ids.length - 5} more` : shown;
}

async function checkClientLimit(queryBus: QueryBus, settings: ExportConfig, clientId: string): Promise<void> {
  const running = await queryBus.execute(new ExportJobsQuery({ statuses: ['running'], clientId }));
  if (running.length >= settings.maxJobsPerClient)
    throw new TooManyExports(
      10,
      `Client ${clientId} already has ${running.length} exports running (at most ${settings.maxJobsPerClient}); retry when one completes or cancel one`,
    );
}
