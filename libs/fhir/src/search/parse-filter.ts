import { FHIR_ID_PATTERN, isR4ResourceType } from '../resource-types';
import { normalizeString } from './index-values';
import type { SearchParameterDefinition, SearchParameterRegistry } from './search-parameters';
import { SearchFilter, SearchParameterError } from './search-filter';
import {
  parseDateValue,
  parseNumberValue,
  parseReferenceValue,
  parseTokenValue,
  quote,
  requiredValues,
  splitModifier,
  splitOn,
} from './search-value-parse';

/** How many links a chain (`a.b.c`) or nested `_has` may have: each one is a bounded lookup of its own. */
export const MAX_CHAIN_DEPTH = 3;

/**
 * One occurrence of a named parameter of `resourceType` as a filter: a plain parameter with its modifier, `_id`,
 * `_lastUpdated`, a chain (`subject:Patient.name`), or a reverse chain (`_has:Observation:patient:code`), the
 * last two recursively. `parameter` is the name as the client wrote it, for the errors. Returns undefined for a
 * plain parameter the type does not have (lenient handling decides); inside a chain an unknown one is an error.
 */
export function parseParameter(
  resourceType: string,
  name: string,
  occurrence: string,
  registry: SearchParameterRegistry,
  parameter: string = name,
  depth = 0,
): SearchFilter | undefined {
  const linked = (innerType: string, innerName: string) => {
    if (depth + 1 > MAX_CHAIN_DEPTH)
      throw new SearchParameterError(
        parameter,
        `${parameter}: chains and _has may be at most ${MAX_CHAIN_DEPTH} levels deep`,
      );
    const inner = parseParameter(innerType, innerName, occurrence, registry, parameter, depth + 1);
    if (!inner) {
      throw new SearchParameterError(
        parameter,
        `${parameter}: ${quote(splitModifier(innerName.split('.')[0])[0])} is not a search parameter of ${innerType}`,
      );
    }
    return inner;
  };
  if (name.startsWith('_has:')) {
    const [, sourceType, referenceCode, ...rest] = name.split(':');
    if (!sourceType || !referenceCode || rest.length === 0)
      throw new SearchParameterError(
        parameter,
        `${parameter}: _has must be _has:<Type>:<reference>:<parameter>`,
      );
    if (!isR4ResourceType(sourceType))
      throw new SearchParameterError(parameter, `${parameter}: unknown resource type ${quote(sourceType)}`);
    const reference = registry.get(sourceType, referenceCode);
    if (!reference || reference.type !== 'reference')
      throw new SearchParameterError(
        parameter,
        `${parameter}: ${quote(referenceCode)} is not a reference parameter of ${sourceType}`,
      );
    if (reference.targets.length > 0 && !reference.targets.includes(resourceType))
      throw new SearchParameterError(
        parameter,
        `${parameter}: ${sourceType}.${referenceCode} cannot refer to ${resourceType}`,
      );
    return { kind: 'has', parameter, sourceType, reference, filter: linked(sourceType, rest.join(':')) };
  }
  const dot = name.indexOf('.');
  if (dot >= 0) {
    const [code, modifier] = splitModifier(name.slice(0, dot));
    const tail = name.slice(dot + 1);
    const definition = registry.get(resourceType, code);
    if (!definition)
      throw new SearchParameterError(
        parameter,
        `${parameter}: ${quote(code)} is not a search parameter of ${resourceType}`,
      );
    if (definition.type !== 'reference')
      throw new SearchParameterError(
        parameter,
        `${parameter}: ${quote(code)} is a ${definition.type} parameter; only references can be chained`,
      );
    if (modifier !== undefined && !isR4ResourceType(modifier))
      throw new SearchParameterError(
        parameter,
        `${parameter}: a chain takes a target type (:<Type>), not :${modifier}`,
      );
    if (modifier !== undefined && definition.targets.length > 0 && !definition.targets.includes(modifier))
      throw new SearchParameterError(parameter, `${parameter}: ${code} cannot refer to ${modifier}`);
    const candidates = modifier ? [modifier] : definition.targets;
    if (candidates.length === 0)
      throw new SearchParameterError(
        parameter,
        `${parameter}: ${code} may refer to any type; name it (${code}:<Type>.${tail})`,
      );
    // Without a type, every target type that has the chained parameter is searched (as HAPI does).
    const next = splitModifier(tail.split('.')[0])[0];
    const types = candidates.filter(
      (type) => next === '_id' || next === '_lastUpdated' || next === '_has' || registry.get(type, next),
    );
    if (types.length === 0)
      throw new SearchParameterError(
        parameter,
        `${parameter}: ${quote(next)} is not a search parameter of ${candidates.join(', ')}`,
      );
    return {
      kind: 'chain',
      parameter,
      definition,
      targets: types.map((type) => ({ resourceType: type, filter: linked(type, tail) })),
    };
  }
  const [code, modifier] = splitModifier(name);
  if (code === '_id') {
    if (modifier !== undefined && modifier !== 'not')
      throw new SearchParameterError(parameter, `${parameter}: _id supports only :not`);
    const values = requiredValues(parameter, occurrence, 'id');
    for (const id of values) {
      if (!FHIR_ID_PATTERN.test(id))
        throw new SearchParameterError(parameter, `${parameter}: ${quote(id)} is not a valid id`);
    }
    return { kind: 'id', parameter, values, not: modifier === 'not' };
  }
  if (code === '_lastUpdated') {
    if (modifier !== undefined)
      throw new SearchParameterError(parameter, `${parameter}: no modifiers on _lastUpdated`);
    return {
      kind: 'lastUpdated',
      parameter,
      values: requiredValues(parameter, occurrence, 'date').map((v) => parseDateValue(parameter, v)),
    };
  }
  const definition = registry.get(resourceType, code);
  if (!definition) return undefined;
  return parseFilter(parameter, definition, modifier, occurrence);
}

function parseFilter(
  name: string,
  definition: SearchParameterDefinition,
  modifier: string | undefined,
  occurrence: string,
): SearchFilter {
  if (modifier === 'missing') {
    if (occurrence !== 'true' && occurrence !== 'false')
      throw new SearchParameterError(name, `${name}: :missing takes true or false, got ${quote(occurrence)}`);
    return { kind: 'missing', parameter: name, definition, missing: occurrence === 'true' };
  }
  if (definition.type === 'composite') {
    if (modifier !== undefined)
      throw new SearchParameterError(
        name,
        `${name}: modifier :${modifier} is not supported on composite parameters`,
      );
    return parseComposite(name, definition, occurrence);
  }
  const values = requiredValues(name, occurrence, definition.type);
  const base = { parameter: name, definition };
  const unsupported = () =>
    new SearchParameterError(
      name,
      `${name}: modifier :${modifier} is not supported on ${definition.type} parameters`,
    );
  const text = (): SearchFilter => ({
    kind: 'string',
    ...base,
    indexParam: `${definition.code}:text`,
    match: 'prefix',
    values: values.map(normalizeString),
  });
  switch (definition.type) {
    case 'token':
      if (modifier === 'text') return text();
      if (modifier === 'of-type') {
        return {
          kind: 'token',
          ...base,
          indexParam: `${definition.code}:of-type`,
          values: values.map((value) => {
            const [system, code, identifier, ...extra] = value.split('|');
            if (!system || !code || !identifier || extra.length > 0)
              throw new SearchParameterError(
                name,
                `${name}: :of-type takes <type system>|<type code>|<identifier value>, got ${quote(value)}`,
              );
            return { system, code: `${code}|${identifier}` };
          }),
          not: false,
        };
      }
      if (modifier !== undefined && modifier !== 'not') throw unsupported();
      return {
        kind: 'token',
        ...base,
        indexParam: definition.code,
        values: values.map(parseTokenValue),
        not: modifier === 'not',
      };
    case 'uri':
      if (modifier !== undefined) throw unsupported();
      return { kind: 'uri', ...base, values };
    case 'string':
      if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains') throw unsupported();
      return {
        kind: 'string',
        ...base,
        indexParam: definition.code,
        match: modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'prefix',
        values: modifier === 'exact' ? values : values.map(normalizeString),
      };
    case 'date':
      if (modifier !== undefined) throw unsupported();
      return { kind: 'date', ...base, values: values.map((v) => parseDateValue(name, v)) };
    case 'number':
    case 'quantity':
      if (modifier !== undefined) throw unsupported();
      return {
        kind: 'number',
        ...base,
        values: values.map((v) => parseNumberValue(name, v, definition.type === 'quantity')),
      };
    case 'reference': {
      if (modifier === 'identifier') {
        return {
          kind: 'token',
          ...base,
          indexParam: `${definition.code}:identifier`,
          values: values.map(parseTokenValue),
          not: false,
        };
      }
      if (modifier === 'text') return text();
      if (modifier === 'mdm') {
        if (definition.targets.length > 0 && !definition.targets.includes('Patient'))
          throw new SearchParameterError(
            name,
            `${name}: :mdm expands Patient references; ${definition.code} has none`,
          );
        return {
          kind: 'reference',
          ...base,
          values: values.map((v) => parseReferenceValue(name, v, 'Patient')),
          mdm: true,
        };
      }
      let type: string | undefined;
      if (modifier !== undefined) {
        if (!isR4ResourceType(modifier)) throw unsupported();
        if (definition.targets.length > 0 && !definition.targets.includes(modifier))
          throw new SearchParameterError(name, `${name}: ${definition.code} cannot refer to ${modifier}`);
        type = modifier;
      }
      return { kind: 'reference', ...base, values: values.map((v) => parseReferenceValue(name, v, type)) };
    }
  }
}

/**
 * `a$b[$c]` per alternative (comma-separated): each part is a value of its component's parameter, with that
 * type's prefixes (`$gt150`); `\$` and `\,` are literal.
 */
function parseComposite(
  name: string,
  definition: SearchParameterDefinition,
  occurrence: string,
): SearchFilter {
  const components = definition.components ?? [];
  const alternatives = splitOn(occurrence, ',').filter((v) => v !== '');
  if (alternatives.length === 0) throw new SearchParameterError(name, `${name}: a value is required`);
  return {
    kind: 'composite',
    parameter: name,
    definition,
    values: alternatives.map((alternative) => {
      const parts = splitOn(alternative, '$');
      if (parts.length !== components.length || parts.some((part) => part === ''))
        throw new SearchParameterError(
          name,
          `${name}: expected ${components.length} components separated by $ (${components.map((c) => c.definition.code).join('$')}), got ${quote(alternative)}`,
        );
      return parts.map((part, i) =>
        // Re-escaped: the part is one value, never alternatives.
        parseFilter(name, components[i].definition, undefined, part.replace(/,/g, '\\,')),
      );
    }),
  };
}
