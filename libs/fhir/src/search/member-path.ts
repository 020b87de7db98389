import { splitTopLevelUnion } from './search-parameters';

export type Compiled = (resource: unknown) => unknown[];

/**
 * Most R4 search expressions are plain member paths ("Observation.subject", "(Observation.value as Quantity)"),
 * for which FHIRPath is JSON navigation with arrays flattened. Walking the JSON directly is several times faster
 * than fhirpath.js, which matters because every recorded version is indexed. When a step meets what may be a
 * choice element ("effective" stored as effectiveDateTime), the resource goes to fhirpath.js, which knows the
 * model; index-values.spec.ts checks both give the same values.
 */
export function memberPathEvaluator(expression: string, fallback: Compiled): Compiled | undefined {
  const paths: { steps: string[]; asType?: string }[] = [];
  for (const part of splitTopLevelUnion(expression)) {
    const match =
      /^\s*(?:\(\s*([A-Za-z]+(?:\.[a-z][A-Za-z]*)+)\s+as\s+([A-Za-z]+)\s*\)|([A-Za-z]+(?:\.[a-z][A-Za-z]*)+))\s*$/.exec(
        part,
      );
    if (!match) return undefined;
    const path = match[1] ?? match[3];
    const steps = path.split('.').slice(1);
    const asType = match[2];
    paths.push(asType ? { steps, asType: asType[0].toUpperCase() + asType.slice(1) } : { steps });
  }
  return (resource: unknown) => {
    const out: unknown[] = [];
    for (const { steps, asType } of paths) {
      let nodes: unknown[] = [resource];
      for (let i = 0; i < steps.length; i++) {
        const name = asType && i === steps.length - 1 ? `${steps[i]}${asType}` : steps[i];
        const next: unknown[] = [];
        for (const node of nodes) {
          if (node === null || typeof node !== 'object') continue;
          const record = node as Record<string, unknown>;
          const value = record[name];
          if (value === undefined) {
            const last = i === steps.length - 1;
            // "(code as CodeableConcept)" on an element that is not a choice: only the model can say.
            // "as" also matches subtypes (uri matches sourceCanonical) and non-choice elements: the model decides.
            if (asType && last && record[steps[i]] !== undefined) return fallback(resource);
            if (mayBeChoice(record, steps[i])) return fallback(resource);
            continue;
          }
          if (Array.isArray(value)) next.push(...value);
          else next.push(value);
        }
        nodes = next;
        if (nodes.length === 0) break;
      }
      for (const node of nodes) if (node !== null) out.push(node);
    }
    return out;
  };
}

/** A key "<name><Type>" (effectiveDateTime for effective) means the element is a choice the model must resolve. */
function mayBeChoice(record: Record<string, unknown>, name: string): boolean {
  for (const key in record) {
    if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length])) return true;
  }
  return false;
}
