import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import {
  AppendRequest,
  EVENT_STORE,
  EventStore,
  EventToAppend,
  WrongExpectedRevisionError,
} from '@fa/event-store';
import { aggregateIdOf, deterministicEventId, SOURCE_NAME_PATTERN } from '../../domain/aggregate-ids';
import { normalizeResource } from '../../domain/normalize-resource';
import {
  decide,
  evolve,
  INITIAL_RESOURCE_STATE,
  ReceivedLineage,
  ResourceState,
} from '../../domain/resource-decider';
import type { RejectionCode, SourceRecord } from '../../domain/source-record';
import {
  INGESTION_REJECTED,
  IngestionRejectedData,
  IngestionRejectedMetadata,
  isResourceEvent,
  OriginLineage,
  rejectionStreamId,
  resourceStreamId,
} from '../../events';
import { IngestResourceVersionsCommand, IngestSummary } from './ingest-resource-versions.command';

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

  /** Loads each stream's state from its last event, decides every record in order, appends in one transaction. */
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
    const states = new Map<string, ResourceState>();
    for (const [streamId, event] of await this.store.readLastEvents(streamIds)) {
      if (isResourceEvent(event))
        states.set(streamId, evolve(INITIAL_RESOURCE_STATE, event, event.streamRevision));
    }

    const requests = new Map<string, AppendRequest>();
    const rejections: EventToAppend[] = [];
    for (const item of prepared) {
      if (item.kind === 'rejected') {
        summary.rejected.push({ code: item.code, reason: item.reason, origin: item.origin });
        rejections.push(rejectionEvent(command, item, receivedAt));
        continue;
      }
      const lineage: ReceivedLineage = {
        source,
        sourceResourceType: item.resourceType,
        sourceId: item.sourceId,
        origin: item.origin,
        receivedAt,
        ingestionInstance: command.ingestionInstance,
      };
      const state = states.get(item.streamId) ?? INITIAL_RESOURCE_STATE;
      const decision = decide(
        state,
        item.kind === 'delete'
          ? { kind: 'delete', streamId: item.streamId, resourceType: item.resourceType, id: item.id, lineage }
          : { kind: 'record', streamId: item.streamId, resource: item.value, lineage },
      );
      summary[decision.outcome]++;
      if (decision.events.length === 0) continue;
      let request = requests.get(item.streamId);
      if (!request) {
        // The state this batch decided on must still be the stream's when it is appended.
        const expectedRevision = state.revision < 0 ? 'no_stream' : state.revision;
        requests.set(item.streamId, (request = { streamId: item.streamId, events: [], expectedRevision }));
      }
      let next = state;
      for (const event of decision.events) {
        request.events.push(event);
        next = evolve(next, event);
      }
      states.set(item.streamId, next);
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

function originKey(origin: OriginLineage): string {
  if (origin.file)
    return `file:${origin.file.path}:${origin.file.line ?? ''}:${origin.file.entryIndex ?? ''}`;
  if (origin.kafka) {
    const k = origin.kafka;
    return `kafka:${k.topic}:${k.partition}:${k.offset}:${k.entryIndex ?? ''}`;
  }
  if (origin.bulk) {
    // A whole line keeps the key it always had: a rerun of a sync records its rejection once.
    const entry = origin.bulk.entryIndex !== undefined ? `:${origin.bulk.entryIndex}` : '';
    return `bulk:${origin.bulk.fileUrl}:${origin.bulk.line}${entry}`;
  }
  return `http:${origin.http?.requestId ?? ''}`;
}

/** The IngestionRejected event of one record that cannot be a resource (deterministic id: once per origin). */
function rejectionEvent(
  command: IngestResourceVersionsCommand,
  item: { code: RejectionCode; reason: string; origin: OriginLineage; excerpt?: string },
  receivedAt: string,
): EventToAppend<IngestionRejectedData, IngestionRejectedMetadata> {
  const { source } = command;
  return {
    id: deterministicEventId(source, 'rejected', originKey(item.origin), item.code),
    type: INGESTION_REJECTED,
    data: {
      source,
      code: item.code,
      reason: item.reason,
      origin: item.origin,
      excerpt: item.excerpt,
      receivedAt,
    },
    metadata: { source, origin: item.origin, receivedAt, ingestionInstance: command.ingestionInstance },
  };
}
