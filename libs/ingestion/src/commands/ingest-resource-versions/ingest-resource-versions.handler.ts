import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import {
  AppendRequest,
  EVENT_STORE,
  EventStore,
  EventToAppend,
  RecordedEvent,
  WrongExpectedRevisionError,
} from '@fa/event-store';
import { aggregateIdOf, deterministicEventId, SOURCE_NAME_PATTERN } from '../../domain/aggregate-ids';
import { normalizeResource } from '../../domain/normalize-resource';
import type { SourceRecord } from '../../domain/source-record';
import {
  INGESTION_REJECTED,
  IngestionRejectedData,
  OriginLineage,
  RESOURCE_DELETED,
  RESOURCE_VERSION_RECORDED,
  ResourceDeletedData,
  ResourceVersionLineage,
  ResourceVersionRecordedData,
  rejectionStreamId,
  resourceStreamId,
} from '../../events/resource-version-recorded.event';
import { IngestResourceVersionsCommand, IngestSummary } from './ingest-resource-versions.command';

/** What we know of a stream's head while deciding a batch. */
interface StreamHead {
  revision: number;
  contentHash?: string;
  deleted: boolean;
  latestSourceLastUpdated?: string;
}

const MAX_ATTEMPTS = 5;

@CommandHandler(IngestResourceVersionsCommand)
export class IngestResourceVersionsHandler implements ICommandHandler<
  IngestResourceVersionsCommand,
  IngestSummary
> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute(command: IngestResourceVersionsCommand): Promise<IngestSummary> {
    if (!SOURCE_NAME_PATTERN.test(command.source)) {
      throw new Error(`Source name must match ${SOURCE_NAME_PATTERN}, got ${JSON.stringify(command.source)}`);
    }
    // Another writer of the same resource between our read and our append: decide again on fresh heads.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.decideAndAppend(command);
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  private async decideAndAppend(command: IngestResourceVersionsCommand): Promise<IngestSummary> {
    const { source } = command;
    const receivedAt = command.receivedAt.toISOString();
    const summary: IngestSummary = {
      read: command.records.length,
      recorded: 0,
      deleted: 0,
      unchanged: 0,
      rejected: [],
    };
    const prepared = command.records.map((record) => this.prepare(source, record));
    const streamIds = [...new Set(prepared.flatMap((p) => (p.kind === 'rejected' ? [] : [p.streamId])))];
    const heads = new Map<string, StreamHead>();
    for (const [streamId, event] of await this.store.readLastEvents(streamIds))
      heads.set(streamId, headOf(event));

    const requests = new Map<string, AppendRequest>();
    const appendTo = (streamId: string, event: EventToAppend, expectedRevision: number) => {
      let request = requests.get(streamId);
      if (!request) {
        request = {
          streamId,
          events: [],
          expectedRevision: expectedRevision < 0 ? 'no_stream' : expectedRevision,
        };
        requests.set(streamId, request);
      }
      request.events.push(event);
    };
    const rejections: EventToAppend[] = [];

    for (const item of prepared) {
      if (item.kind === 'rejected') {
        summary.rejected.push({ code: item.code, reason: item.reason, origin: item.origin });
        const data: IngestionRejectedData = {
          source,
          code: item.code,
          reason: item.reason,
          origin: item.origin,
          excerpt: item.excerpt,
          receivedAt,
        };
        rejections.push({
          id: deterministicEventId(source, 'rejected', originKey(item.origin), item.code),
          type: INGESTION_REJECTED,
          data,
          metadata: { source, origin: item.origin, receivedAt, ingestionInstance: command.ingestionInstance },
        });
        continue;
      }
      const head = heads.get(item.streamId) ?? { revision: -1, deleted: false };
      const lineageBase = {
        source,
        sourceResourceType: item.resourceType,
        sourceId: item.sourceId,
        origin: item.origin,
        receivedAt,
        ingestionInstance: command.ingestionInstance,
      };
      if (item.kind === 'delete') {
        if (head.revision < 0 || head.deleted) {
          summary.unchanged++;
          continue;
        }
        const metadata: ResourceVersionLineage = {
          ...lineageBase,
          contentHash: 'deleted',
          transformations: [],
          validationIssues: [],
          supersedesCurrent: true,
          latestSourceLastUpdated: head.latestSourceLastUpdated,
        };
        const data: ResourceDeletedData = { resourceType: item.resourceType, id: item.id };
        appendTo(
          item.streamId,
          this.event(item.streamId, 'deleted', head, RESOURCE_DELETED, data, metadata),
          head.revision,
        );
        heads.set(item.streamId, {
          ...head,
          revision: head.revision + 1,
          deleted: true,
          contentHash: 'deleted',
        });
        summary.deleted++;
        continue;
      }
      const { value } = item;
      if (!head.deleted && head.contentHash === value.contentHash) {
        summary.unchanged++;
        continue;
      }
      // A version the source stamped older than the newest we hold is history, not the current state.
      const late =
        value.sourceLastUpdated !== undefined &&
        head.latestSourceLastUpdated !== undefined &&
        Date.parse(value.sourceLastUpdated) < Date.parse(head.latestSourceLastUpdated);
      const latestSourceLastUpdated = late
        ? head.latestSourceLastUpdated
        : (value.sourceLastUpdated ?? head.latestSourceLastUpdated);
      const metadata: ResourceVersionLineage = {
        ...lineageBase,
        sourceVersionId: value.sourceVersionId,
        sourceLastUpdated: value.sourceLastUpdated,
        contentHash: value.contentHash,
        transformations: value.transformations,
        validationIssues: value.validationIssues,
        supersedesCurrent: !late,
        latestSourceLastUpdated,
      };
      const data: ResourceVersionRecordedData = {
        resourceType: value.resourceType,
        id: value.id,
        resource: value.resource,
      };
      appendTo(
        item.streamId,
        this.event(item.streamId, value.contentHash, head, RESOURCE_VERSION_RECORDED, data, metadata),
        head.revision,
      );
      heads.set(item.streamId, {
        revision: head.revision + 1,
        contentHash: value.contentHash,
        deleted: false,
        latestSourceLastUpdated,
      });
      summary.recorded++;
    }
    if (rejections.length > 0) {
      requests.set(rejectionStreamId(source), {
        streamId: rejectionStreamId(source),
        events: rejections,
        expectedRevision: 'any',
      });
    }
    if (requests.size > 0) await this.store.appendMany([...requests.values()]);
    return summary;
  }

  private event(
    streamId: string,
    contentHash: string,
    head: StreamHead,
    type: string,
    data: unknown,
    metadata: unknown,
  ) {
    // Same content at the same place in the stream always gets the same id: a re-run after a crash is a no-op.
    return { id: deterministicEventId(streamId, contentHash, head.revision), type, data, metadata };
  }

  private prepare(source: string, record: SourceRecord) {
    if (record.kind === 'rejected') return record;
    if (record.kind === 'delete') {
      const id = aggregateIdOf(source, record.resourceType, record.sourceId);
      return {
        kind: 'delete' as const,
        resourceType: record.resourceType,
        sourceId: record.sourceId,
        id,
        streamId: resourceStreamId(record.resourceType, id),
        origin: record.origin,
      };
    }
    const normalized = normalizeResource(source, record.resource, record.bundleFullUrls);
    if (!normalized.ok) {
      return {
        kind: 'rejected' as const,
        code: normalized.code,
        reason: normalized.reason,
        origin: record.origin,
        excerpt: undefined,
      };
    }
    return {
      kind: 'resource' as const,
      value: normalized.value,
      resourceType: normalized.value.resourceType,
      sourceId: normalized.value.sourceId,
      streamId: resourceStreamId(normalized.value.resourceType, normalized.value.id),
      origin: record.origin,
    };
  }
}

function headOf(event: RecordedEvent): StreamHead {
  const lineage = event.metadata as Partial<ResourceVersionLineage>;
  return {
    revision: event.streamRevision,
    contentHash: lineage.contentHash,
    deleted: event.type === RESOURCE_DELETED,
    latestSourceLastUpdated: lineage.latestSourceLastUpdated,
  };
}

function originKey(origin: OriginLineage): string {
  if (origin.file)
    return `file:${origin.file.path}:${origin.file.line ?? ''}:${origin.file.entryIndex ?? ''}`;
  if (origin.kafka) {
    const k = origin.kafka;
    return `kafka:${k.topic}:${k.partition}:${k.offset}:${k.entryIndex ?? ''}`;
  }
  return `http:${origin.http?.requestId ?? ''}`;
}
