import { r4SearchParameters } from '@fa/fhir';
import { Dataset, keyOf, SourceKey } from './dataset';
import {
  dateMatches,
  dateRange,
  elementRange,
  Json,
  Resource,
  stringMatches,
  stringParts,
  StringModifier,
  tokenMatches,
  tokensOf,
} from './fhir-values';

/**
 * The matches a search must have, computed from the source data and the search contract alone: each
 * parameter's element paths come from its SearchParameter (only plain `Type.a.b | Type.c` expressions), and
 * the values are matched by this folder's own rules (fhir-values.ts), never the server's code. Answers only
 * for what it can judge (token, string, date and _id parameters; result parameters that leave the match set
 * alone); anything else is undefined, and the caller does not judge that request.
 */
export function expectedMatches(
  data: Dataset,
  resourceType: string,
  parameters: readonly { name: string; value: string }[],
  ourId: (type: string, sourceId: string) => string,
): Set<SourceKey> | undefined {
  const tests: ((resource: Resource) => boolean)[] = [];
  for (const { name, value } of parameters) {
    if (IGNORED.has(name)) continue;
    const test = parameterTest(resourceType, name, value, ourId);
    if (!test) return undefined;
    tests.push(test);
  }
  return new Set(
    data
      .ofType(resourceType)
      .filter((r) => tests.every((t) => t(r)))
      .map(keyOf),
  );
}

/** Result parameters that page, sort, count or shape the Bundle but never change which resources match. */
const IGNORED = new Set([
  '_count',
  '_sort',
  '_total',
  '_summary',
  '_elements',
  '_include',
  '_revinclude',
  '_include:iterate',
  '_format',
  '_pretty',
]);

const registry = r4SearchParameters();

/** The element paths (below the resource) of a parameter whose expression is a union of plain paths. */
function plainPaths(resourceType: string, code: string): { type: string; paths: string[] } | undefined {
  const definition = registry.get(resourceType, code);
  if (!definition) return undefined;
  const paths = definition.expression
    .split('|')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${resourceType}.`))
    .map((part) => part.slice(resourceType.length + 1));
  if (paths.length === 0 || paths.some((path) => !/^[a-zA-Z]+(\.[a-zA-Z]+)*$/.test(path))) return undefined;
  return { type: definition.type, paths };
}

/** Values at a path, flattening arrays; a step also reaches its choice forms (`effective` → effectiveDateTime). */
function elementValues(node: unknown, path: string): unknown[] {
  let current: unknown[] = [node];
  for (const step of path.split('.')) {
    const next: unknown[] = [];
    for (const item of current) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
      for (const [key, value] of Object.entries(item as Json)) {
        if (key !== step && !(key.startsWith(step) && /^[A-Z]/.test(key.slice(step.length)))) continue;
        if (Array.isArray(value)) next.push(...value);
        else if (value !== undefined && value !== null) next.push(value);
      }
    }
    current = next;
  }
  return current;
}

function parameterTest(
  resourceType: string,
  name: string,
  value: string,
  ourId: (type: string, sourceId: string) => string,
): ((resource: Resource) => boolean) | undefined {
  // An escaped comma or a value with no alternative left is the parser's business, not the oracle's.
  if (value.includes('\\')) return undefined;
  const alternatives = value.split(',').filter((v) => v !== '');
  if (alternatives.length === 0) return undefined;
  const [code, modifier] = name.split(':') as [string, string | undefined];
  if (code === '_id') {
    if (modifier !== undefined && modifier !== 'not') return undefined;
    return (r) => alternatives.includes(ourId(r.resourceType, r.id)) !== (modifier === 'not');
  }
  // Other _ parameters (_lastUpdated is our record time, _tag and _profile meta the server sets) are not judged.
  if (code.startsWith('_')) return undefined;
  const parameter = plainPaths(resourceType, code);
  if (!parameter) return undefined;
  const valuesOf = (r: Resource) => parameter.paths.flatMap((path) => elementValues(r, path));
  switch (parameter.type) {
    case 'token': {
      if (modifier !== undefined && modifier !== 'not') return undefined;
      const any = (r: Resource) =>
        valuesOf(r)
          .flatMap(tokensOf)
          .some((token) => alternatives.some((search) => tokenMatches(search, token)));
      return modifier === 'not' ? (r) => !any(r) : any;
    }
    case 'string': {
      if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains') return undefined;
      // Plain ASCII letters and digits: case and accent folding of other text is not the oracle's to define.
      if (!alternatives.every((v) => /^[A-Za-z0-9 ]+$/.test(v))) return undefined;
      return (r) =>
        valuesOf(r)
          .flatMap(stringParts)
          .some((part) =>
            alternatives.some((search) => stringMatches(part, search, (modifier ?? '') as StringModifier)),
          );
    }
    case 'date': {
      if (modifier !== undefined) return undefined;
      // ne and ap are defined loosely by the contract; prefixes the oracle knows, dates it can read.
      const judged = alternatives.every((v) => {
        const prefixed = /^(eq|lt|gt|le|ge|sa|eb)?(.*)$/.exec(v)!;
        return !/^(ne|ap)/.test(v) && dateRange(prefixed[2]) !== undefined;
      });
      if (!judged) return undefined;
      return (r) =>
        valuesOf(r)
          .map(elementRange)
          .some((range) => range !== undefined && alternatives.some((search) => dateMatches(search, range)));
    }
    default:
      return undefined;
  }
}
