import type { OperationDefinition, OperationDefinitionParameter, Parameters } from 'fhir/r4';
import { parseFhirDateRange } from '../fhir-instant';

/**
 * A FHIR operation this server implements, declared once as an OperationDefinition (as Medplum does): the
 * definition names the route (system / type / instance level, GET when it does not affect state), drives the
 * parsing and validation of its input parameters, is listed in the CapabilityStatement, and is served at
 * GET /fhir/OperationDefinition/<id>.
 */
export type FhirOperationDefinition = OperationDefinition & { id: string; url: string };

/** Our canonical base for the definitions this server declares. */
export const OPERATION_DEFINITION_BASE = 'https://fhir-aggregator.dev/fhir/OperationDefinition';

/** Parameters every FHIR interaction accepts (FHIR http 3.1.0.1.x), never reported as unknown. */
const GENERAL_PARAMETERS = new Set(['_format', '_pretty', '_summary', '_elements']);

export class OperationParameterError extends Error {
  override readonly name = 'OperationParameterError';
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
  }
}

/** A parsed input value, by the parameter's FHIR type (a resource-valued parameter gives the resource's JSON). */
export type OperationValue = string | number | boolean | { start: Date; end: Date } | ResourceValue;

/** The JSON of a resource given as a parameter (`parameter.resource` of a Parameters body). */
export interface ResourceValue {
  resourceType: string;
  [element: string]: unknown;
}

export interface OperationInput {
  /** Values by parameter name: one value when max is "1", else an array. */
  values: Record<string, OperationValue | OperationValue[] | undefined>;
  /** Names the definition does not declare (the caller reports or, under handling=strict, rejects them). */
  unknown: string[];
}

type RawValue = string | ResourceValue;
type RawValues = Record<string, RawValue | RawValue[] | undefined>;

/** Types whose values are written in a URL (FHIR datatypes, primitive); any other in-parameter needs a body. */
const PRIMITIVE_TYPES = new Set([
  'base64Binary',
  'boolean',
  'canonical',
  'code',
  'date',
  'dateTime',
  'decimal',
  'id',
  'instant',
  'integer',
  'markdown',
  'oid',
  'positiveInt',
  'string',
  'time',
  'unsignedInt',
  'uri',
  'url',
  'uuid',
]);
/** Complex types a query string still carries as text (a Reference as `Type/id`, as FHIR search does). */
const TEXT_TYPES = new Set(['Reference']);

/**
 * How an operation is invoked (FHIR 3.1.0.11.1): POST when it affects state or takes an in-parameter that
 * cannot be written in a URL (a resource, e.g. $viewdefinition-run's viewResource); else GET.
 */
export function operationMethod(definition: FhirOperationDefinition): 'GET' | 'POST' {
  if (definition.affectsState) return 'POST';
  const inURL = (definition.parameter ?? [])
    .filter((p) => p.use === 'in')
    .every((p) => PRIMITIVE_TYPES.has(p.type ?? '') || TEXT_TYPES.has(p.type ?? ''));
  return inURL ? 'GET' : 'POST';
}

function isResourceType(type: string | undefined): boolean {
  return type !== undefined && !PRIMITIVE_TYPES.has(type) && !TEXT_TYPES.has(type);
}

/** The route of an operation under the FHIR base: `$code`, `Type/$code` or `Type/:id/$code`. */
export function operationRoute(definition: FhirOperationDefinition): string {
  if (definition.system) return `$${definition.code}`;
  const [type] = definition.resource ?? [];
  if (!type || (definition.resource?.length ?? 0) > 1)
    throw new Error(`${definition.id}: a type-level operation names exactly one resource`);
  return definition.instance ? `${type}/:id/$${definition.code}` : `${type}/$${definition.code}`;
}

/**
 * Reads the input of an operation from query parameters or a Parameters body, as its definition declares:
 * each `in` parameter's type (string, code, id, uri, boolean, integer, unsignedInt, positiveInt, date,
 * dateTime, instant), cardinality (min 1 = required, max "1" = at most once). Throws OperationParameterError
 * naming the parameter.
 */
export function parseOperationInput(
  definition: FhirOperationDefinition,
  input: RawValues | Parameters | undefined,
): OperationInput {
  const raw = isParameters(input) ? fromParameters(input) : (input ?? {});
  const declared = (definition.parameter ?? []).filter((p) => p.use === 'in');
  const byName = new Map(declared.map((p) => [p.name, p]));
  const values: OperationInput['values'] = {};
  for (const parameter of declared) {
    const given = raw[parameter.name];
    const list = given === undefined ? [] : Array.isArray(given) ? given : [given];
    if (list.length < parameter.min) {
      throw new OperationParameterError(parameter.name, `$${definition.code}: ${parameter.name} is required`);
    }
    if (parameter.max === '1' && list.length > 1) {
      throw new OperationParameterError(parameter.name, `${parameter.name} may be given only once`);
    }
    const parsed = list.map((value) => parseValue(definition, parameter, value));
    values[parameter.name] = parameter.max === '1' ? parsed[0] : parsed;
  }
  const unknown = Object.keys(raw).filter((name) => !byName.has(name) && !GENERAL_PARAMETERS.has(name));
  return { values, unknown };
}

function parseValue(
  definition: FhirOperationDefinition,
  parameter: OperationDefinitionParameter,
  raw: RawValue,
): OperationValue {
  if (isResourceType(parameter.type)) {
    if (typeof raw !== 'object') {
      throw new OperationParameterError(
        parameter.name,
        `$${definition.code}: ${parameter.name} must be a resource (parameter.resource in a Parameters body)`,
      );
    }
    return raw;
  }
  if (typeof raw !== 'string') {
    throw new OperationParameterError(
      parameter.name,
      `$${definition.code}: ${parameter.name} must be a ${parameter.type} value, not a resource`,
    );
  }
  const value = raw;
  const fail = (expected: string) =>
    new OperationParameterError(
      parameter.name,
      `$${definition.code}: ${parameter.name} must be ${expected}, got ${JSON.stringify(value.slice(0, 64))}`,
    );
  switch (parameter.type) {
    case 'boolean':
      if (value !== 'true' && value !== 'false') throw fail('true or false');
      return value === 'true';
    case 'integer':
      if (!/^-?\d{1,9}$/.test(value)) throw fail('an integer');
      return Number(value);
    case 'unsignedInt':
      if (!/^\d{1,9}$/.test(value)) throw fail('a non-negative integer');
      return Number(value);
    case 'positiveInt':
      if (!/^0*[1-9]\d{0,8}$/.test(value)) throw fail('a positive integer');
      return Number(value);
    case 'date':
    case 'dateTime':
    case 'instant': {
      const range = parseFhirDateRange(value);
      if (!range) throw fail(`a FHIR ${parameter.type}`);
      return range;
    }
    case 'code':
      if (!/^[^\s]+( [^\s]+)*$/.test(value)) throw fail('a code');
      return value;
    case 'id':
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(value)) throw fail('an id (1-64 of A-Z a-z 0-9 - .)');
      return value;
    default:
      if (value.length === 0) throw fail('a non-empty string');
      return value;
  }
}

function isParameters(input: unknown): input is Parameters {
  return (input as { resourceType?: unknown } | undefined)?.resourceType === 'Parameters';
}

/** valueX of each parameter as text, or its resource, by name (repeats kept). */
function fromParameters(parameters: Parameters): RawValues {
  const raw: Record<string, RawValue[]> = {};
  if (!Array.isArray(parameters.parameter)) {
    throw new OperationParameterError('parameter', 'The Parameters resource has no parameter array');
  }
  for (const parameter of parameters.parameter) {
    if (typeof parameter.name !== 'string') continue;
    const resource = parameter.resource as ResourceValue | undefined;
    const value =
      resource && typeof resource === 'object'
        ? resource
        : primitiveValue(parameter as unknown as Record<string, unknown>);
    if (value === undefined) continue;
    (raw[parameter.name] ??= []).push(value);
  }
  return raw;
}

function primitiveValue(parameter: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(parameter)) {
    if (!key.startsWith('value')) continue;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (key === 'valueReference') {
      const reference = (value as { reference?: unknown }).reference;
      if (typeof reference === 'string') return reference;
    }
  }
  return undefined;
}
