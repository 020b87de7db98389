import type { ResourceVersionLineage } from '../events/lineage';
import { RESOURCE_DELETED, ResourceDeletedData } from '../events/resource-deleted.event';
import {
  RESOURCE_VERSION_RECORDED,
  ResourceVersionRecordedData,
} from '../events/resource-version-recorded.event';
import { deterministicEventId } from './aggregate-ids';
import type { NormalizedResource } from './normalize-resource';

/**
 * The decision of the Ingestion context for one resource stream ("<Type>-<aggregateId>"), as pure functions in
 * Emmett's shape: `decide(state, command) → events` and `evolve(state, event) → state`. No I/O: the command
 * handler loads the state, decides, and appends with the stream's expected revision.
 */

/** What a resource stream's events say about it. */
export interface ResourceState {
  /** Revision of the stream's last event; -1 before the first. */
  revision: number;
  /** Content hash of the current version; undefined before the first and after a delete. */
  contentHash?: string;
  deleted: boolean;
  /** Newest source meta.lastUpdated held: a version stamped older is late. */
  latestSourceLastUpdated?: string;
}

export const INITIAL_RESOURCE_STATE: ResourceState = { revision: -1, deleted: false };

/** Lineage common to every event of one received record (where it came from, when, by which instance). */
export type ReceivedLineage = Pick<
  ResourceVersionLineage,
  'source' | 'sourceResourceType' | 'sourceId' | 'origin' | 'receivedAt' | 'ingestionInstance'
>;

export type ResourceCommand =
  | { kind: 'record'; streamId: string; resource: NormalizedResource; lineage: ReceivedLineage }
  | { kind: 'delete'; streamId: string; resourceType: string; id: string; lineage: ReceivedLineage };

/** The events of a resource stream, as decide writes them and evolve reads them. */
export type ResourceEvent =
  | {
      id: string;
      type: typeof RESOURCE_VERSION_RECORDED;
      data: ResourceVersionRecordedData;
      metadata: ResourceVersionLineage;
    }
  | {
      id: string;
      type: typeof RESOURCE_DELETED;
      data: ResourceDeletedData;
      metadata: ResourceVersionLineage;
    };

export type ResourceDecision =
  | { outcome: 'recorded'; events: [ResourceEvent] }
  | { outcome: 'deleted'; events: [ResourceEvent] }
  | { outcome: 'unchanged'; events: [] };

/** Kept in ResourceDeleted's lineage, where a hash of content would be (schema version 1). */
const DELETED_HASH = 'deleted';

/**
 * - record: a new version unless it is exactly the current content (a redelivery records nothing); a version the
 *   source stamped older than the newest held is recorded as history that must not become current (late);
 *   after a delete, any content is a new version (re-create).
 * - delete: a ResourceDeleted unless the resource is unknown or already deleted.
 * Event ids are deterministic from the stream, the content and the revision: a re-run after a crash is a no-op.
 */
export function decide(state: ResourceState, command: ResourceCommand): ResourceDecision {
  if (command.kind === 'delete') {
    if (state.revision < 0 || state.deleted) return { outcome: 'unchanged', events: [] };
    const metadata: ResourceVersionLineage = {
      ...command.lineage,
      contentHash: DELETED_HASH,
      transformations: [],
      validationIssues: [],
      supersedesCurrent: true,
      latestSourceLastUpdated: state.latestSourceLastUpdated,
    };
    return {
      outcome: 'deleted',
      events: [
        {
          id: deterministicEventId(command.streamId, DELETED_HASH, state.revision),
          type: RESOURCE_DELETED,
          data: { resourceType: command.resourceType, id: command.id },
          metadata,
        },
      ],
    };
  }
  const { resource } = command;
  if (!state.deleted && state.contentHash === resource.contentHash)
    return { outcome: 'unchanged', events: [] };
  const late = isOlder(resource.sourceLastUpdated, state.latestSourceLastUpdated);
  const metadata: ResourceVersionLineage = {
    ...command.lineage,
    sourceVersionId: resource.sourceVersionId,
    sourceLastUpdated: resource.sourceLastUpdated,
    contentHash: resource.contentHash,
    transformations: resource.transformations,
    validationIssues: resource.validationIssues,
    supersedesCurrent: !late,
    latestSourceLastUpdated: late
      ? state.latestSourceLastUpdated
      : (resource.sourceLastUpdated ?? state.latestSourceLastUpdated),
  };
  return {
    outcome: 'recorded',
    events: [
      {
        id: deterministicEventId(command.streamId, resource.contentHash, state.revision),
        type: RESOURCE_VERSION_RECORDED,
        data: { resourceType: resource.resourceType, id: resource.id, resource: resource.resource },
        metadata,
      },
    ],
  };
}

/**
 * Folds one event into the state. Each event's lineage carries the newest source lastUpdated held after it, so the
 * state after a stream's last event is evolve(INITIAL_RESOURCE_STATE, lastEvent) with that event's revision:
 * the handler reads only the last event of each stream.
 */
export function evolve(
  state: ResourceState,
  event: Pick<ResourceEvent, 'type' | 'metadata'>,
  revision = state.revision + 1,
): ResourceState {
  const latestSourceLastUpdated = event.metadata.latestSourceLastUpdated ?? state.latestSourceLastUpdated;
  if (event.type === RESOURCE_DELETED) return { revision, deleted: true, latestSourceLastUpdated };
  return { revision, contentHash: event.metadata.contentHash, deleted: false, latestSourceLastUpdated };
}

function isOlder(candidate: string | undefined, newest: string | undefined): boolean {
  return candidate !== undefined && newest !== undefined && Date.parse(candidate) < Date.parse(newest);
}
