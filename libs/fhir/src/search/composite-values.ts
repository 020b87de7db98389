import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { CompositeIndexValue, CompositePart, IndexValues } from './index-value.types';
import { emptyIndexValues } from './index-value.types';
import type { SearchParameterDefinition } from './search-parameters';
import { splitTopLevelUnion } from './search-parameters';

type Compiled = (node: unknown, environment?: Record<string, unknown>) => unknown[];
type AddValue = (values: IndexValues, definition: SearchParameterDefinition, value: unknown) => void;

interface CompiledComposite {
  /** Per union member of the composite expression: its elements, and each component evaluated on one. */
  members: { elements: Compiled; components: Compiled[] }[];
}
const compiledComposites = new WeakMap<SearchParameterDefinition, CompiledComposite | null>();

/** FHIRPath names primitive types in lower case: the definitions' `as(DateTime)` finds nothing in fhirpath.js. */
const fhirpathType = (expression: string) => expression.replace(/\.as\(DateTime\)/g, '.as(dateTime)');

function compile(definition: SearchParameterDefinition): CompiledComposite | null {
  let compiled = compiledComposites.get(definition);
  if (compiled !== undefined) return compiled;
  try {
    compiled = {
      members: splitTopLevelUnion(definition.expression).map((member) => {
        const base = member.trim().replace(/^\((.*)\)$/, '$1');
        if (!/^[A-Za-z]+(\.[a-z][A-Za-z]*)*$/.test(base)) throw new Error(`not a path: ${base}`);
        return {
          elements: fhirpath.compile(base, r4Model) as unknown as Compiled,
          components: definition.components!.map(
            (c) =>
              fhirpath.compile(
                { base, expression: fhirpathType(c.expression) },
                r4Model,
              ) as unknown as Compiled,
          ),
        };
      }),
    };
  } catch {
    compiled = null;
  }
  compiledComposites.set(definition, compiled);
  return compiled;
}

const EMPTY_PART: CompositePart = {
  system: null,
  code: null,
  value: null,
  low: null,
  high: null,
  normalized: null,
  exact: null,
};

/** The parts a component's values give, through the same conversion its own parameter type is indexed with. */
function partsOf(
  definition: SearchParameterDefinition,
  results: unknown[],
  addValue: AddValue,
): CompositePart[] {
  const scratch = emptyIndexValues();
  for (const result of results) addValue(scratch, definition, result);
  switch (definition.type) {
    case 'token':
    case 'uri':
      return scratch.tokens
        .filter((t) => t.param === definition.code)
        .map((t) => ({ ...EMPTY_PART, system: t.system, code: t.code }));
    case 'quantity':
    case 'number':
      return scratch.numbers.map((n) => ({ ...EMPTY_PART, value: n.value, system: n.system, code: n.code }));
    case 'date':
      return scratch.dates.map((d) => ({ ...EMPTY_PART, low: d.low, high: d.high }));
    case 'string':
      return scratch.strings.map((s) => ({ ...EMPTY_PART, normalized: s.normalized, exact: s.exact }));
    case 'reference':
      return scratch.references.map((r) => ({
        ...EMPTY_PART,
        system: r.targetType,
        code: r.targetId,
        exact: r.raw,
      }));
    case 'composite':
      return [];
  }
}

/** The largest number of tuples one element may yield (the product of its components' value counts). */
const MAX_TUPLES_PER_ELEMENT = 64;

/**
 * The tuples of a composite parameter: for each element its expression reaches (the Observation itself, each
 * component), every combination of the components' values on that element, so `code$value` matches only a
 * code and a value of the same element.
 */
export function compositeValues(
  definition: SearchParameterDefinition,
  resource: unknown,
  addValue: AddValue,
): CompositeIndexValue[] {
  const compiled = compile(definition);
  if (!compiled) return [];
  const out: CompositeIndexValue[] = [];
  for (const member of compiled.members) {
    for (const element of member.elements(resource)) {
      const perComponent = member.components.map((component, i) =>
        partsOf(definition.components![i].definition, component(element, { resource }), addValue),
      );
      if (perComponent.some((parts) => parts.length === 0)) continue;
      let tuples: CompositePart[][] = [[]];
      for (const parts of perComponent) {
        tuples = tuples.flatMap((tuple) => parts.map((part) => [...tuple, part]));
        if (tuples.length > MAX_TUPLES_PER_ELEMENT) break;
      }
      for (const parts of tuples.slice(0, MAX_TUPLES_PER_ELEMENT))
        out.push({ param: definition.code, parts });
    }
  }
  return out;
}
