import { ViewDefinitionError } from './view-definition.error';
import { temporalLiteral } from './view-fhirpath';

/** Constant value types of the spec (`value[x]`), and how each becomes a FHIRPath value. */
const CONSTANT_TYPES: Record<string, (value: unknown) => unknown> = {
  valueBase64Binary: asString,
  valueBoolean: (v) => (typeof v === 'boolean' ? v : invalid('a boolean')),
  valueCanonical: asString,
  valueCode: asString,
  valueDate: (v) => temporal(v, '@', /^\d{4}(-\d{2}(-\d{2})?)?$/),
  valueDateTime: (v) => temporal(v, '@', /^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$/),
  valueDecimal: (v) => (typeof v === 'number' && Number.isFinite(v) ? v : invalid('a decimal')),
  valueId: asString,
  valueInstant: (v) => temporal(v, '@', /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/),
  valueInteger: (v) => integer(v, -(2 ** 31)),
  valueInteger64: (v) => integer(v, Number.MIN_SAFE_INTEGER),
  valueOid: asString,
  valuePositiveInt: (v) => integer(v, 1),
  valueString: asString,
  valueTime: (v) => temporal(v, '@T', /^\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?$/),
  valueUnsignedInt: (v) => integer(v, 0),
  valueUri: asString,
  valueUrl: asString,
  valueUuid: asString,
};

class InvalidValue extends Error {}

function invalid(what: string): never {
  throw new InvalidValue(`must be ${what}`);
}
function asString(v: unknown): string {
  return typeof v === 'string' ? v : invalid('a string');
}
function integer(v: unknown, min: number): number {
  return Number.isInteger(v) && (v as number) >= min ? (v as number) : invalid(`an integer ≥ ${min}`);
}
function temporal(v: unknown, prefix: string, pattern: RegExp): unknown {
  if (typeof v !== 'string' || !pattern.test(v)) invalid('a FHIR date/time of that type');
  return temporalLiteral(prefix + v);
}

/** Names FHIRPath reserves (`%rowIndex` is SQL on FHIR's); a constant may not take them. */
export const RESERVED_VARIABLES = new Set([
  'rowIndex',
  'resource',
  'rootResource',
  'context',
  'ucum',
  'sct',
  'loinc',
]);

/** Validates `constant` and returns the FHIRPath environment it defines. */
export function compileConstants(constants: unknown): Record<string, unknown> {
  if (constants === undefined) return {};
  if (!Array.isArray(constants)) throw new ViewDefinitionError('constant', 'must be an array');
  const env: Record<string, unknown> = {};
  constants.forEach((constant: unknown, i) => {
    const element = `constant[${i}]`;
    if (typeof constant !== 'object' || constant === null)
      throw new ViewDefinitionError(element, 'must be an object');
    const { name, ...rest } = constant as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      throw new ViewDefinitionError(
        `${element}.name`,
        'must be a name of letters, digits and _ starting with a letter',
      );
    }
    if (RESERVED_VARIABLES.has(name))
      throw new ViewDefinitionError(`${element}.name`, `%${name} is reserved`);
    if (name in env) throw new ViewDefinitionError(`${element}.name`, `duplicate constant "${name}"`);
    const values = Object.keys(rest).filter((key) => key.startsWith('value'));
    if (values.length !== 1) {
      throw new ViewDefinitionError(element, `needs exactly one value[x], found ${values.length}`);
    }
    const [key] = values;
    const convert = CONSTANT_TYPES[key];
    if (!convert) throw new ViewDefinitionError(`${element}.${key}`, 'is not a constant type of the spec');
    try {
      env[name] = convert(rest[key]);
    } catch (error) {
      if (error instanceof InvalidValue) throw new ViewDefinitionError(`${element}.${key}`, error.message);
      throw error;
    }
  });
  return env;
}

/** The `%name` variables an expression uses (string literals and comments left out). */
export function variablesUsed(expression: string): string[] {
  const code = expression.replace(/'(?:[^'\\]|\\.)*'/g, "''").replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
  return [...code.matchAll(/%(?:([A-Za-z_][A-Za-z0-9_]*)|`([^`]*)`)/g)].map((m) => m[1] ?? m[2]);
}
