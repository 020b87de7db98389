/** Stream of one aggregated resource: "<ResourceType>-<aggregateId>". */
export function resourceStreamId(resourceType: string, aggregateId: string): string {
  return `${resourceType}-${aggregateId}`;
}

/** Stream of everything rejected from one source: "IngestionRejected-<source>". */
export function rejectionStreamId(source: string): string {
  return `IngestionRejected-${source}`;
}
