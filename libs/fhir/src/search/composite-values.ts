import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { CompositeIndexValue, CompositePart, IndexValues } from './index-value.types';
import { emptyIndexValues } from './index-value.types';
import { memberPathEvaluator } from './member-path';
import type { SearchParameterDefinition } from './search-parameters';
import { splitTopLevelUnion } from './search-parameters';

type Compiled = (node: unknown) => unknown[];
/** index-values' conversion of one value; `partOnly` leaves out the rows only a whole parameter has (:text, :of-type). */
type AddValue = (
  values: IndexValues,
  definition: SearchParameterDefinition,
  value: unknown,
  partOnly?: boolean,
) => void;

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
        const elements = fhirpath.compile(base, r4Model) as unknown as Compiled;
        return {
          elements: base.includes('.')
            ? (memberPathEvaluator(base, elements) ?? elements)
            : (resource: unknown) => [resource],
          components: definition.components!.map((c) => {
            const expression = fhirpathType(c.expression);
            const slow = fhirpath.compile({ base, expression }, r4Model) as unknown as Compiled;
            return choiceEvaluator(expression) ?? memberPathEvaluator(asMemberPath(expression), slow) ?? slow;
          }),
        };
      }),
    };
  } catch {
    compiled = null;
  }
  compiledComposites.set(definition, compiled);
  return compiled;
}

/** R4 types a choice element's `as(T)` also matches (their specializations); the others match only themselves. */
const SPECIALIZATIONS: Record<string, string[]> = {
  Quantity: ['Quantity', 'Age', 'Count', 'Distance', 'Duration', 'SimpleQuantity', 'MoneyQuantity'],
  String: ['String', 'Code', 'Id', 'Markdown'],
};

/**
 * `value.as(T) | ...` as a choice element is stored in JSON (valueQuantity, valueDateTime): read the keys of T
 * and its specializations directly, without fhirpath.js. Nearly every Observation asks each composite's
 * `value.as(Quantity)` and `value.as(CodeableConcept)`, of which it has one: this is most of the composites' cost.
 */
function choiceEvaluator(expression: string): Compiled | undefined {
  const keys: string[] = [];
  for (const part of splitTopLevelUnion(expression)) {
    const as = /^\s*([a-z][A-Za-z]*)\.as\(([A-Za-z]+)\)\s*$/.exec(part);
    if (!as) return undefined;
    const type = as[2][0].toUpperCase() + as[2].slice(1);
    keys.push(...(SPECIALIZATIONS[type] ?? [type]).map((t) => `${as[1]}${t}`));
  }
  return (element: unknown) => {
    if (element === null || typeof element !== 'object') return [];
    const record = element as Record<string, unknown>;
    const out: unknown[] = [];
    for (const key of keys) {
      const value = record[key];
      if (value === undefined || value === null) continue;
      if (Array.isArray(value)) out.push(...value);
      else out.push(value);
    }
    return out;
  };
}

/**
 * A component expression relative to its element ("code", "value.as(Quantity) | value.as(Period)") in the form
 * memberPathEvaluator walks as JSON ("Element.code", "(Element.value as Quantity) | ..."); it falls back to
 * fhirpath.js (with the element's base path) wherever the JSON alone cannot say.
 */
function asMemberPath(expression: string): string {
  return splitTopLevelUnion(expression)
    .map((part) => {
      const as = /^\s*([a-z][A-Za-z.]*)\.as\(([A-Za-z]+)\)\s*$/.exec(part);
      return as ? `(Element.${as[1]} as ${as[2]})` : `Element.${part.trim()}`;
    })
    .join(' | ');
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
  if (results.length === 0) return [];
  for (const result of results) addValue(scratch, definition, result, true);
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
      // Last component first: the value is the part most elements lack, and then the code is never read.
      const perComponent: CompositePart[][] = [];
      for (let i = member.components.length - 1; i >= 0; i--) {
        const parts = partsOf(definition.components![i].definition, member.components[i](element), addValue);
        if (parts.length === 0) break;
        perComponent[i] = parts;
      }
      if (perComponent.length < member.components.length || perComponent[0] === undefined) continue;
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
