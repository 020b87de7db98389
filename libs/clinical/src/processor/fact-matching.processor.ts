import type { PoolClient } from 'pg';
import type { AppendRequest, EventStore, ProcessManager, RecordedEvent } from '@fa/event-store';
import {
  asIngestionEvent,
  deterministicEventId,
  RESOURCE_DELETED,
  RESOURCE_VERSION_RECORDED,
} from '@fa/ingestion';
import {
  asIdentityEvent,
  IDENTITY_STREAM_PREFIX,
  MembershipChange,
  membershipChangesOf,
} from '@fa/patient-identity';
import { FACT_RESOURCE_TYPES, featuresOf, subjectOf } from '../domain/clinical-fact';
import { ClinicalCommand, decideClinical } from '../domain/fact-matching-decider';
import {
  asClinicalEvent,
  CLINICAL_STREAM_PREFIX,
  ClinicalEvent,
  clinicalLinkStreamId,
  refKey,
} from '../events/clinical-events';
import { FACT_MATCHING_SQL, FACT_MATCHING_TABLES, FactMatchingBatchState } from './fact-matching.state';

export const FACT_MATCHING_PROCESSOR = 'clinical-fact-matching';

type Input =
  | { kind: 'command'; command: ClinicalCommand; patientIds: string[]; goldenIds: string[]; keys: string[] }
  | { kind: 'membership'; changes: MembershipChange[]; causationId: string }
  | { kind: 'reviewer'; event: ClinicalEvent };

/**
 * Clinical fact matching online, as a process manager: it follows the clinical resources' streams, Patient
 * Identity's decisions (golden membership, in log order, so a fact is matched as soon as both it and its source
 * patient's link are in the log) and its own streams (reviewers' splits). For each it asks the pure decider
 * (domain/fact-matching-decider.ts) and appends the decisions to the links' streams in the transaction that
 * saves its state and checkpoint. Never rebuilt (replaying would decide again); the clinical-facts read model is.
 */
export class FactMatchingProcessor implements ProcessManager {
  readonly kind = 'process-manager';
  readonly name = FACT_MATCHING_PROCESSOR;
  readonly version = 1;
  readonly readSchema = 'clinical_matching';
  readonly tables = FACT_MATCHING_TABLES;
  readonly streamPrefixes = [
    ...FACT_RESOURCE_TYPES.map((type) => `${type}-`),
    IDENTITY_STREAM_PREFIX,
    CLINICAL_STREAM_PREFIX,
  ];

  constructor(private readonly store: EventStore) {}

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(FACT_MATCHING_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    const inputs = events.flatMap((event) => inputsOf(event));
    if (inputs.length === 0) return;
    const state = new FactMatchingBatchState(client, schema);
    await state.load(
      inputs.flatMap((i) =>
        i.kind === 'command'
          ? i.patientIds
          : i.kind === 'membership'
            ? i.changes.map((c) => c.sourcePatientId)
            : i.event.data.facts.map((f) => f.patientId),
      ),
      inputs.flatMap((i) =>
        i.kind === 'command'
          ? i.goldenIds
          : i.kind === 'membership'
            ? i.changes.flatMap((c) => (c.kind === 'joined' ? [c.goldenId] : []))
            : [],
      ),
      inputs.flatMap((i) => (i.kind === 'command' ? i.keys : [])),
    );
    const decided: ClinicalEvent[] = [];
    const decide = (command: ClinicalCommand) => {
      const events = decideClinical(state, command);
      for (const event of events) state.evolve(event);
      decided.push(...events);
    };
    for (const input of inputs) {
      if (input.kind === 'reviewer') {
        state.evolve(input.event);
      } else if (input.kind === 'command') {
        const { command } = input;
        await state.ensurePatients(input.patientIds);
        // The version's coding lists teach equivalences before it is matched; a deletion is decided first.
        if (command.kind === 'fact-recorded') state.record(command.fact);
        decide(command);
        if (command.kind === 'fact-deleted') state.forget(command.key);
      } else {
        const moved = await this.applyMembership(state, input.changes);
        if (moved.length > 0)
          decide({ kind: 'membership-changed', patientIds: moved, causationId: input.causationId });
      }
    }
    if (decided.length > 0) await this.store.appendMany(appendRequests(decided), { within: client });
    await state.save();
  }

  /**
   * Folds an identity decision's membership changes into golden membership; returns the source patients it moved
   * (a merge is decided once, at GoldenPatientsMerged, with every patient it moved).
   */
  private async applyMembership(
    state: FactMatchingBatchState,
    changes: MembershipChange[],
  ): Promise<string[]> {
    await state.ensurePatients(changes.map((c) => c.sourcePatientId));
    for (const goldenId of new Set(changes.flatMap((c) => (c.kind === 'joined' ? [c.goldenId] : []))))
      await state.ensureGolden(goldenId);
    const moved: string[] = [];
    for (const change of changes) {
      const { sourcePatientId, goldenId } = change;
      if (change.kind === 'left') {
        if (state.goldenOf(sourcePatientId) !== goldenId) continue;
        state.leave(sourcePatientId, goldenId);
        moved.push(sourcePatientId);
        continue;
      }
      const already = state.goldenOf(sourcePatientId) === goldenId;
      if (!already) state.join(sourcePatientId, goldenId);
      if (change.by === 'merge' || (change.by === 'link' && !already)) moved.push(sourcePatientId);
    }
    return moved;
  }
}

/** What one recorded event asks of the matcher. */
function inputsOf(event: RecordedEvent): Input[] {
  const ingestion = asIngestionEvent(event);
  if (ingestion?.type === RESOURCE_VERSION_RECORDED) {
    const { data, metadata: lineage } = ingestion;
    // A late version that does not become current changes no fact.
    if (lineage.supersedesCurrent === false) return [];
    const resource = data.resource as unknown as Record<string, unknown>;
    const features = featuresOf(resource);
    const patientId = subjectOf(resource);
    if (!features || !patientId) return [];
    const ref = { resourceType: data.resourceType, id: data.id, source: lineage.source, patientId };
    return [
      {
        kind: 'command',
        command: { kind: 'fact-recorded', fact: { ref, features, deleted: false }, causationId: event.id },
        patientIds: [patientId],
        goldenIds: [],
        keys: [refKey(ref)],
      },
    ];
  }
  if (ingestion?.type === RESOURCE_DELETED) {
    const key = refKey(ingestion.data);
    return [
      {
        kind: 'command',
        command: { kind: 'fact-deleted', key, causationId: event.id },
        patientIds: [],
        goldenIds: [],
        keys: [key],
      },
    ];
  }
  const identity = asIdentityEvent(event);
  if (identity)
    return [{ kind: 'membership', changes: membershipChangesOf(identity), causationId: event.id }];
  const clinical = asClinicalEvent(event);
  // The matcher's own decisions are in its state already; a reviewer's split is folded (and binds the matcher).
  if (clinical && clinical.data.decidedBy.kind === 'reviewer') return [{ kind: 'reviewer', event: clinical }];
  return [];
}

/** Decisions as appends to their links' streams, in decision order; ids from the cause, so a retry writes nothing. */
function appendRequests(decided: readonly ClinicalEvent[]): AppendRequest[] {
  const byStream = new Map<string, AppendRequest>();
  for (const event of decided) {
    const streamId = clinicalLinkStreamId(event.data.linkId);
    let request = byStream.get(streamId);
    if (!request) byStream.set(streamId, (request = { streamId, events: [] }));
    request.events.push({
      id: deterministicEventId(event.data.causationId, event.type, event.data.linkId, request.events.length),
      type: event.type,
      data: event.data,
    });
  }
  return [...byStream.values()];
}
