import type { RecordedEvent } from '@fa/event-store';
import {
  INGESTION_REJECTED,
  IngestionRejectedData,
  IngestionRejectedMetadata,
} from './ingestion-rejected.event';
import type { ResourceVersionLineage } from './lineage';
import { RESOURCE_DELETED, ResourceDeletedData } from './resource-deleted.event';
import { RESOURCE_VERSION_RECORDED, ResourceVersionRecordedData } from './resource-version-recorded.event';

/**
 * The published language of the Ingestion context: every event it appends, as one discriminated union on `type`.
 * Schema version 1 for all three (the log is permanent: a change of shape becomes version 2, with an upcaster
 * in `asIngestionEvent` so readers only ever see the newest shape).
 */
export type IngestionEvent =
  | {
      type: typeof RESOURCE_VERSION_RECORDED;
      data: ResourceVersionRecordedData;
      metadata: ResourceVersionLineage;
    }
  | { type: typeof RESOURCE_DELETED; data: ResourceDeletedData; metadata: ResourceVersionLineage }
  | { type: typeof INGESTION_REJECTED; data: IngestionRejectedData; metadata: IngestionRejectedMetadata };

export type IngestionEventType = IngestionEvent['type'];

/** A recorded event narrowed to one of ours, with the store's envelope (stream, revision, position, time). */
export type RecordedIngestionEvent<T extends IngestionEventType = IngestionEventType> = Omit<
  RecordedEvent,
  'type' | 'data' | 'metadata'
> &
  Extract<IngestionEvent, { type: T }>;

const TYPES = new Set<string>([RESOURCE_VERSION_RECORDED, RESOURCE_DELETED, INGESTION_REJECTED]);

/** Narrows a recorded event to the Ingestion union, or undefined for other contexts' events. */
export function asIngestionEvent(event: RecordedEvent): RecordedIngestionEvent | undefined {
  return TYPES.has(event.type) ? (event as RecordedIngestionEvent) : undefined;
}

/** A recorded resource version or deletion: the two events of a resource stream. */
export function isResourceEvent(
  event: RecordedEvent,
): event is RecordedEvent &
  RecordedIngestionEvent<typeof RESOURCE_VERSION_RECORDED | typeof RESOURCE_DELETED> {
  return event.type === RESOURCE_VERSION_RECORDED || event.type === RESOURCE_DELETED;
}

export function isResourceVersionRecorded(
  event: RecordedEvent,
): event is RecordedEvent & RecordedIngestionEvent<typeof RESOURCE_VERSION_RECORDED> {
  return event.type === RESOURCE_VERSION_RECORDED;
}

export function isIngestionRejected(
  event: RecordedEvent,
): event is RecordedEvent & RecordedIngestionEvent<typeof INGESTION_REJECTED> {
  return event.type === INGESTION_REJECTED;
}
