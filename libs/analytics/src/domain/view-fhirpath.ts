import fhirpath, { UserInvocationTable } from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';

/** A compiled FHIRPath expression: focus (a resource or a node an earlier expression returned) → raw nodes. */
export type CompiledPath = (focus: unknown, env: Record<string, unknown>) => unknown[];

interface Reference {
  reference?: string;
}

/**
 * The functions SQL on FHIR adds to FHIRPath. Keys are resource ids: `getResourceKey()` of a resource equals
 * `getReferenceKey()` of a literal reference to it (`Patient/p1`, absolute or with `/_history/n`), and
 * `getReferenceKey(Type)` is empty for a reference to another type.
 */
const sqlOnFhirFunctions: UserInvocationTable = {
  getResourceKey: {
    fn: (inputs: { id?: string }[]) => inputs.flatMap((r) => (typeof r?.id === 'string' ? [r.id] : [])),
    arity: { 0: [] },
  },
  getReferenceKey: {
    fn: (inputs: Reference[], type?: { name?: string }) =>
      inputs.flatMap((r) => {
        const key = referenceKey(r?.reference, type?.name);
        return key === undefined ? [] : [key];
      }),
    arity: { 0: [], 1: ['TypeSpecifier'] },
  },
  lowBoundary: boundaryFunction('lowBoundary', '+14:00'),
  highBoundary: boundaryFunction('highBoundary', '-12:00'),
  /** The spec's `join([separator])`: an empty collection joins to '' (fhirpath.js gives nothing). */
  join: {
    fn: (inputs: unknown[], separator?: string) => [inputs.map(String).join(separator ?? '')],
    arity: { 0: [], 1: ['String'] },
  },
};

interface Node {
  fhirNodeDataType?: string;
  data?: unknown;
}

/**
 * fhirpath.js's boundary functions, except that the boundary of a dateTime without an offset takes the widest
 * one (+14:00 for the low boundary, -12:00 for the high), as FHIRPath asks: the instant is uncertain by that much.
 */
function boundaryFunction(name: 'lowBoundary' | 'highBoundary', offset: string) {
  return {
    internalStructures: true,
    arity: { 0: [], 1: ['Integer' as const] },
    fn: (inputs: Node[], precision?: number) => {
      const call = precision === undefined ? `${name}()` : `${name}(${precision})`;
      return inputs.flatMap((node) => {
        const dateTime = node?.fhirNodeDataType === 'dateTime' || node?.fhirNodeDataType === 'instant';
        if (!dateTime || typeof node.data !== 'string') {
          return fhirpath.evaluate([node], call, {}, r4Model, { resolveInternalTypes: false }) as unknown[];
        }
        const literal = temporalLiteral(`@${node.data.includes('T') ? node.data : `${node.data}T`}`);
        const [boundary] = toJsonValues(
          fhirpath.evaluate([literal], call, {}, r4Model, { resolveInternalTypes: false }) as unknown[],
        ) as string[];
        if (boundary === undefined) return [];
        const withOffset = /(Z|[+-]\d{2}:\d{2})$/.test(boundary) ? boundary : `${boundary}${offset}`;
        return [temporalLiteral(`@${withOffset}`)];
      });
    },
  };
}

function referenceKey(reference: string | undefined, type: string | undefined): string | undefined {
  if (typeof reference !== 'string' || reference.startsWith('#')) return undefined;
  const parts = reference.replace(/\/_history\/[^/]+$/, '').split('/');
  if (parts.length < 2) return undefined;
  const [refType, id] = parts.slice(-2);
  if (type !== undefined && refType !== type) return undefined;
  return id || undefined;
}

/** Compiles once with the R4 model (choice types, `ofType`); throws fhirpath.js's parse error as is. */
export function compilePath(expression: string): CompiledPath {
  const compiled = fhirpath.compile(expression, r4Model, {
    resolveInternalTypes: false,
    userInvocationTable: sqlOnFhirFunctions,
  }) as unknown as (focus: unknown, env: Record<string, unknown>) => unknown[];
  return (focus, env) => compiled(focus, env);
}

/** Raw FHIRPath results (ResourceNodes, FP_DateTime, …) as plain JSON values. */
export function toJsonValues(values: unknown[]): unknown[] {
  return fhirpath.resolveInternalTypes(values) as unknown[];
}

/** The FHIRPath literal's internal value (FP_Date, FP_DateTime, FP_Time), so `birthDate = %bd` compares as dates. */
export function temporalLiteral(literal: string): unknown {
  const [value] = fhirpath.evaluate({}, literal, {}, r4Model, { resolveInternalTypes: false }) as unknown[];
  return value;
}
