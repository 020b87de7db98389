import type { Resource } from 'fhir/r4';

export const SUBSETTED_TAG = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
};

/**
 * `_elements`: the named top-level elements plus what every resource needs (resourceType, id, meta), tagged
 * SUBSETTED. Choice elements are asked for by their base name: "value" keeps valueQuantity. Search results and
 * Bulk Data exports subset the same way.
 */
export function subsetElements<R extends Resource>(resource: R, elements: readonly string[]): R {
  const source = resource as unknown as Record<string, unknown>;
  const kept: Record<string, unknown> = { resourceType: resource.resourceType, id: resource.id };
  for (const [key, value] of Object.entries(source)) {
    const asked = elements.some(
      (element) => key === element || (key.startsWith(element) && /^[A-Z]/.test(key.slice(element.length))),
    );
    if (asked) kept[key] = value;
  }
  const meta = { ...(resource.meta ?? {}) };
  meta.tag = [...(meta.tag ?? []), SUBSETTED_TAG];
  kept.meta = meta;
  return kept as unknown as R;
}
