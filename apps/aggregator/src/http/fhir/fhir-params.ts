import type { Parameters } from 'fhir/r4';
import {
  FHIR_ID_PATTERN,
  FhirOperationDefinition,
  isR4ResourceType,
  OperationInput,
  OperationParameterError,
  parseFhirDateRange,
  parseOperationInput,
} from '@fa/fhir';
import { FhirError } from '../fhir-error';

export type QueryParams = Record<string, string | string[] | undefined>;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** A parameter given once; repeating a single-valued parameter is a client error, not something to guess about. */
export function single(params: QueryParams, name: string): string | undefined {
  const value = params[name];
  if (Array.isArray(value)) throw FhirError.badRequest(`${name} may be given only once`, name);
  return value;
}

export function resourceTypeParam(type: string): string {
  if (!isR4ResourceType(type))
    throw FhirError.notFound(`Unknown resource type ${JSON.stringify(type.slice(0, 64))}`);
  return type;
}

export function idParam(id: string): string {
  if (!FHIR_ID_PATTERN.test(id))
    throw FhirError.badRequest(`Invalid id: must be 1-64 of A-Z a-z 0-9 - .`, 'id');
  return id;
}

/** _asOf: a FHIR instant, or a date / partial dateTime meaning the end of that period. */
export function asOfParam(params: QueryParams): Date | undefined {
  const value = single(params, '_asOf');
  if (value === undefined) return undefined;
  const range = parseFhirDateRange(value);
  if (!range)
    throw FhirError.badRequest(
      `_asOf must be a FHIR date, dateTime or instant, got ${JSON.stringify(value.slice(0, 64))}`,
      '_asOf',
    );
  return range.end;
}

export function instantParam(params: QueryParams, name: string): Date | undefined {
  const value = single(params, name);
  if (value === undefined) return undefined;
  const range = parseFhirDateRange(value);
  if (!range)
    throw FhirError.badRequest(
      `${name} must be a FHIR instant, got ${JSON.stringify(value.slice(0, 64))}`,
      name,
    );
  return range.start;
}

export function periodParam(params: QueryParams, name: string): { start: Date; end: Date } | undefined {
  const value = single(params, name);
  if (value === undefined) return undefined;
  const range = parseFhirDateRange(value);
  if (!range)
    throw FhirError.badRequest(
      `${name} must be a FHIR date or dateTime, got ${JSON.stringify(value.slice(0, 64))}`,
      name,
    );
  return range;
}

/** A non-negative integer parameter (_count, _offset), or undefined when absent. */
export function nonNegativeIntegerParam(params: QueryParams, name: string): number | undefined {
  const value = single(params, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value))
    throw FhirError.badRequest(
      `${name} must be a non-negative integer, got ${JSON.stringify(value.slice(0, 32))}`,
      name,
    );
  return Number(value);
}

export function countParam(params: QueryParams, defaultCount = DEFAULT_PAGE_SIZE): number {
  return Math.min(nonNegativeIntegerParam(params, '_count') ?? defaultCount, MAX_PAGE_SIZE);
}

export function versionIdParam(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value))
    throw FhirError.notFound(`Version ${JSON.stringify(value.slice(0, 32))} does not exist`);
  return Number(value);
}

/** Prefer: handling=strict asks for unknown parameters to be errors (FHIR search, 3.1.1.5). */
export function isStrict(prefer: string | undefined): boolean {
  return /(^|[,;\s])handling\s*=\s*strict\b/i.test(prefer ?? '');
}

/**
 * An operation's input as its OperationDefinition declares it: malformed values are 400 naming the
 * parameter; parameters it does not declare are rejected under Prefer: handling=strict, else returned in
 * `unknown` for the caller to report.
 */
export function operationInput(
  definition: FhirOperationDefinition,
  input: QueryParams | Parameters | undefined,
  prefer?: string,
): OperationInput {
  let parsed: OperationInput;
  try {
    parsed = parseOperationInput(definition, input);
  } catch (error) {
    if (error instanceof OperationParameterError) throw FhirError.badRequest(error.message, error.parameter);
    throw error;
  }
  if (parsed.unknown.length > 0 && isStrict(prefer)) {
    throw FhirError.badRequest(
      `Unknown parameter ${parsed.unknown.join(', ')} for $${definition.code}`,
      parsed.unknown[0],
    );
  }
  return parsed;
}

/**
 * The answer about a patient (source or golden) as of an instant, unless there was none: 404 when it was not
 * known then, 410 when it had been deleted or merged away.
 */
export function foundPatient<R extends { status: string }>(
  result: R,
  id: string,
  asOf: Date | undefined,
): Extract<R, { status: 'found' }> {
  if (result.status === 'not-found') {
    throw FhirError.notFound(
      asOf ? `Patient/${id} did not exist at ${asOf.toISOString()}` : `Patient/${id} is not known`,
    );
  }
  if (result.status !== 'found')
    throw FhirError.gone(
      `Patient/${id} was deleted at ${(result as unknown as { at: Date }).at.toISOString()}`,
    );
  return result as Extract<R, { status: 'found' }>;
}
