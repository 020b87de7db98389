/**
 * How this server names a source system in FHIR: `urn:fhir-aggregator:source:<source>`. One prefix for
 * meta.source (`<uri>#<Type>/<source id>`), the identifier system a resource is found by at its source
 * (`identifier=<uri>|<source id>`) and the Provenance agents and entities of lineage.
 */
export const SOURCE_SYSTEMS = 'urn:fhir-aggregator:source';

export function sourceSystemUri(source: string): string {
  return `${SOURCE_SYSTEMS}:${source}`;
}
