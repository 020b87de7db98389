import { FHIR_ID_PATTERN, isR4ResourceType } from './resource-types';

export type ParsedReference =
  | { kind: 'literal'; resourceType: string; id: string; version?: string; base?: string }
  | { kind: 'urn'; urn: string }
  | { kind: 'contained'; id: string }
  | { kind: 'conditional'; resourceType: string; query: string }
  | { kind: 'unresolvable' };

/** Classifies a Reference.reference string (relative, absolute, urn:uuid/oid, #contained or conditional). */
export function parseReference(reference: string): ParsedReference {
  if (reference.startsWith('#')) return { kind: 'contained', id: reference.slice(1) };
  if (/^urn:(uuid|oid):/i.test(reference)) return { kind: 'urn', urn: reference };
  const conditional = /^([A-Z][A-Za-z]+)\?(.*)$/.exec(reference);
  if (conditional && isR4ResourceType(conditional[1])) {
    return { kind: 'conditional', resourceType: conditional[1], query: conditional[2] };
  }
  const literal = /^(?:(https?:\/\/.+)\/)?([A-Z][A-Za-z]+)\/([^/?#]+)(?:\/_history\/([^/?#]+))?$/.exec(
    reference,
  );
  if (literal && isR4ResourceType(literal[2]) && FHIR_ID_PATTERN.test(literal[3])) {
    return {
      kind: 'literal',
      resourceType: literal[2],
      id: literal[3],
      ...(literal[4] ? { version: literal[4] } : {}),
      ...(literal[1] ? { base: literal[1] } : {}),
    };
  }
  return { kind: 'unresolvable' };
}

/**
 * Visits every Reference-shaped object (one with a string `reference`) in a resource, including inside
 * contained resources and extensions, and replaces its reference with what `rewrite` returns (undefined keeps it).
 * Mutates in place; returns how many references were changed.
 */
export function rewriteReferences(
  value: unknown,
  rewrite: (reference: string) => string | undefined,
): number {
  let changed = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (typeof record.reference === 'string') {
      const replacement = rewrite(record.reference);
      if (replacement !== undefined && replacement !== record.reference) {
        record.reference = replacement;
        changed++;
      }
    }
    // An element named "reference" that is itself a Reference (Consent.provision.actor.reference) is visited.
    for (const key of Object.keys(record)) {
      if (key !== 'reference' || typeof record.reference !== 'string') visit(record[key]);
    }
  };
  visit(value);
  return changed;
}
