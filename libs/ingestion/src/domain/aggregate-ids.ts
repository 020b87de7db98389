import { v5 as uuidv5 } from 'uuid';

/** UUIDv5 namespace of fhir-aggregator ids (fixed forever: changing it renames every resource). */
export const AGGREGATOR_NAMESPACE = '6f1f3c1e-6a53-4b9e-9a59-0b6f1a1d2c3e';

/** Our id of a source resource: the same (source, type, source id) always gives the same id; sources never collide. */
export function aggregateIdOf(source: string, resourceType: string, sourceId: string): string {
  return uuidv5(`${source}|${resourceType}|${sourceId}`, AGGREGATOR_NAMESPACE);
}

/** Deterministic event id: a retried or re-run ingest of the same content at the same place writes nothing new. */
export function deterministicEventId(...parts: (string | number)[]): string {
  return uuidv5(parts.join('|'), AGGREGATOR_NAMESPACE);
}

export const SOURCE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function sourceSystemUri(source: string): string {
  return `urn:fhir-aggregator:source:${source}`;
}
