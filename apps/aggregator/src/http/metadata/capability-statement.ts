import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4';
import { R4_RESOURCE_TYPES } from '@fa/fhir';

export const AS_OF_PARAMETER = {
  name: '_asOf',
  type: 'date' as const,
  documentation:
    'Answer as the server would have at this instant (record time). A date or partial dateTime means the end of that period.',
};

/**
 * What the server truthfully supports: generated from the same constants the routes use, so the statement
 * cannot claim an interaction that is not wired.
 */
export function buildCapabilityStatement(
  baseUrl: string,
  software: { name: string; version: string },
): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = R4_RESOURCE_TYPES.map((type) => ({
    type,
    versioning: 'versioned',
    readHistory: true,
    updateCreate: false,
    conditionalCreate: false,
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    interaction: [
      { code: 'read' },
      { code: 'vread' },
      { code: 'history-instance' },
      { code: 'history-type' },
    ],
    searchParam:
      type === 'Provenance'
        ? [
            {
              name: 'target',
              type: 'reference',
              documentation: 'Lineage: one Provenance per recorded version of the target resource',
            },
            AS_OF_PARAMETER,
          ]
        : undefined,
    extension: [
      {
        url: 'https://fhir-aggregator.dev/StructureDefinition/read-as-of',
        valueString: '_asOf is accepted on read',
      },
    ],
  }));
  for (const r of resource) if (r.type === 'Provenance') r.interaction!.push({ code: 'search-type' });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software,
    implementation: {
      description: 'fhir-aggregator: event-sourced, temporal FHIR R4 aggregate',
      url: baseUrl,
    },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Read-only FHIR API over records aggregated from source systems. Writes arrive from sources (files, Kafka). ' +
          'Every read accepts _asOf to answer as of a past instant.',
        resource,
        interaction: [{ code: 'history-system' }],
      },
    ],
  };
}
