import type { Resource } from 'fhir/r4';

/** A version of a resource as a source sent it, normalized. Metadata: its ResourceVersionLineage. */
export const RESOURCE_VERSION_RECORDED = 'ResourceVersionRecorded';

export interface ResourceVersionRecordedData {
  resourceType: string;
  /** Our id of the resource: UUIDv5 of (source, resourceType, sourceId). */
  id: string;
  /** The normalized resource as recorded (id and references rewritten; meta.versionId/lastUpdated not set). */
  resource: Resource;
}
