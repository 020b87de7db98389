import r4Model from 'fhirpath/fhir-context/r4';
import { isFhirDecimal } from './fhir-json';
import { describeForbidden, findForbiddenCharacter, type HygieneProblem } from './input-hygiene';
import { isR4ResourceType } from './resource-types';

/**
 * Input hygiene's limits (see input-hygiene.ts for the character checks): how long a value may be, per FHIR
 * primitive type (resource elements from Kafka and files, JSON request bodies) and per search parameter type
 * (HTTP parameters), and how deep and how large a JSON document may be. Pure.
 */

/** FHIR's own 1 MB bound on string and markdown ("SHALL NOT exceed 1MB"), in characters. */
const ONE_MB = 1024 * 1024;

/**
 * Longest value, in characters, per FHIR primitive type. id is FHIR's own ([A-Za-z0-9\-.]{1,64}); dates and
 * times are at most 35 characters when valid; codes and URIs are symbols, not text. base64Binary is bounded
 * only by the message or body size. An element of no known type counts as a string.
 */
export const PRIMITIVE_LENGTH_LIMITS: Readonly<Record<string, number>> = {
  id: 64,
  code: 1024,
  uri: 4096,
  url: 4096,
  canonical: 4096,
  oid: 4096,
  uuid: 4096,
  date: 64,
  dateTime: 64,
  instant: 64,
  time: 64,
  string: ONE_MB,
  markdown: ONE_MB,
  xhtml: ONE_MB,
};

/**
 * Longest value, in characters, of one search parameter value (one alternative of a comma list), per search
 * parameter type. string is the length the search index keeps (a longer value could never match); a token is
 * system|code.
 */
export const SEARCH_VALUE_LENGTH_LIMITS: Readonly<Record<string, number>> = {
  id: 64,
  string: 512,
  token: 1024,
  uri: 4096,
  reference: 4096,
  date: 64,
  number: 128,
  quantity: 1024,
  composite: 1024,
  special: 1024,
};

/** No query or form parameter may have a longer name or value, whatever its type (the longest limit above). */
export const MAX_PARAMETER_NAME_LENGTH = 128;
export const MAX_PARAMETER_VALUE_LENGTH = 4096;

/** A resource or request body nested deeper than this (the root object is level 1) is refused. */
export const MAX_JSON_DEPTH = 64;
/** A resource or request body with more JSON values than this (objects, arrays, members, items) is refused. */
export const MAX_JSON_ELEMENTS = 100_000;

/** The search value limit of a parameter type, for one value: a reason naming the parameter, or undefined. */
export function searchValueTooLong(parameter: string, type: string, value: string): string | undefined {
  const limit = SEARCH_VALUE_LENGTH_LIMITS[type] ?? MAX_PARAMETER_VALUE_LENGTH;
  return value.length > limit
    ? `${parameter}: a value of ${value.length} characters is too long; ${article(type)} ${type} parameter value has at most ${limit}`
    : undefined;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? 'an' : 'a';
}

/** Every limit is at least this long: a shorter string needs no type lookup. */
const SHORTEST_LIMIT = Math.min(...Object.values(PRIMITIVE_LENGTH_LIMITS));

const path2Type = r4Model.path2Type as Record<string, string>;
const choiceTypePaths = r4Model.choiceTypePaths as Record<string, string[]>;
const pathsDefinedElsewhere = r4Model.pathsDefinedElsewhere as Record<string, string>;
const type2Parent = r4Model.type2Parent as Record<string, string>;

/** The FHIR type of element `key` of a value whose type (or backbone path) is `owner`, from fhirpath's R4 model. */
function elementType(owner: string, key: string): { type: string; path: string } | undefined {
  for (let base: string | undefined = owner; base; base = type2Parent[base]) {
    const path = `${pathsDefinedElsewhere[base] ?? base}.${key}`;
    const type = path2Type[path];
    if (type) {
      if (type === 'System.String')
        return {
          type: key === 'id' && isR4ResourceType(owner) ? 'id' : key === 'url' ? 'uri' : 'string',
          path,
        };
      return { type, path };
    }
    // A choice element: valueString is value[x] as string.
    for (let cut = key.length - 1; cut > 0; cut--) {
      if (key[cut] < 'A' || key[cut] > 'Z') continue;
      const choices = choiceTypePaths[`${pathsDefinedElsewhere[base] ?? base}.${key.slice(0, cut)}`];
      const suffix = key.slice(cut);
      if (choices?.includes(suffix)) {
        const primitive = suffix[0].toLowerCase() + suffix.slice(1);
        return { type: primitive in PRIMITIVE_LENGTH_LIMITS ? primitive : suffix, path: `${base}.${key}` };
      }
    }
  }
  return undefined;
}

/** The FHIR primitive type at a path of member names from a resource's root, or undefined when not known. */
function typeAt(
  root: string,
  keys: readonly (string | number)[],
  nodes: readonly unknown[],
): string | undefined {
  let owner = root;
  let type: string | undefined = root;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key === 'number') continue;
    if (type === 'Resource' || type === 'DomainResource') {
      const resourceType = (nodes[i] as { resourceType?: unknown } | undefined)?.resourceType;
      if (typeof resourceType !== 'string') return undefined;
      owner = resourceType;
    }
    // A primitive's extension sibling (_family) is an Element.
    const found = key.startsWith('_') ? { type: 'Element', path: 'Element' } : elementType(owner, key);
    if (!found) return undefined;
    type = found.type;
    owner = type === 'BackboneElement' || type === 'Element' ? found.path : type;
  }
  return type;
}

interface Walk {
  root?: string;
  strings: boolean;
  count: number;
  keys: (string | number)[];
  nodes: unknown[];
}

/**
 * The first thing in a parsed JSON document that input hygiene refuses, named by its path (`name[0].family`):
 * nesting deeper than MAX_JSON_DEPTH (`too-deep`), more than MAX_JSON_ELEMENTS values (`too-many-elements`), a
 * string longer than its FHIR type's limit when the document is a resource (`too-long`), and with
 * { strings: true } a key or string holding a NUL or a lone surrogate. Never recurses past the depth limit.
 */
export function findJsonProblem(value: unknown, options: { strings: boolean }): HygieneProblem | undefined {
  const resourceType = (value as { resourceType?: unknown } | null)?.resourceType;
  const walk: Walk = {
    root: typeof resourceType === 'string' && isR4ResourceType(resourceType) ? resourceType : undefined,
    strings: options.strings,
    count: 0,
    keys: [],
    nodes: [],
  };
  return visit(value, 1, walk);
}

function pathOf(keys: readonly (string | number)[]): string {
  let path = '';
  for (const key of keys) path += typeof key === 'number' ? `[${key}]` : path ? `.${key}` : key;
  return path || '(root)';
}

function visit(value: unknown, depth: number, walk: Walk): HygieneProblem | undefined {
  if (++walk.count > MAX_JSON_ELEMENTS)
    return {
      code: 'too-many-elements',
      reason: `more than ${MAX_JSON_ELEMENTS} JSON values (the limit is passed at ${pathOf(walk.keys)})`,
    };
  if (typeof value === 'string') return checkString(value, walk);
  if (value === null || typeof value !== 'object' || isFhirDecimal(value)) return undefined;
  if (depth > MAX_JSON_DEPTH)
    return {
      code: 'too-deep',
      reason: `nested deeper than ${MAX_JSON_DEPTH} levels at ${pathOf(walk.keys)}`,
    };
  walk.nodes.push(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        walk.keys.push(i);
        const problem = visit(value[i], depth + 1, walk);
        walk.keys.pop();
        if (problem) return problem;
      }
      return undefined;
    }
    for (const key in value) {
      if (walk.strings) {
        const found = findForbiddenCharacter(key);
        if (found) return describeForbidden(found, `a property name under ${pathOf(walk.keys)}`);
      }
      walk.keys.push(key);
      const problem = visit((value as Record<string, unknown>)[key], depth + 1, walk);
      walk.keys.pop();
      if (problem) return problem;
    }
    return undefined;
  } finally {
    walk.nodes.pop();
  }
}

function checkString(value: string, walk: Walk): HygieneProblem | undefined {
  if (walk.strings) {
    const found = findForbiddenCharacter(value);
    if (found) return describeForbidden(found, `the string at ${pathOf(walk.keys)}`);
  }
  if (value.length <= SHORTEST_LIMIT) return undefined;
  const type = walk.root ? (typeAt(walk.root, walk.keys, walk.nodes) ?? 'string') : 'string';
  const limit = PRIMITIVE_LENGTH_LIMITS[type] ?? (type === 'base64Binary' ? Infinity : ONE_MB);
  return value.length > limit
    ? {
        code: 'too-long',
        reason: `the ${type} at ${pathOf(walk.keys)} is ${value.length} characters; ${article(type)} ${type} has at most ${limit}`,
      }
    : undefined;
}
