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
  GOLDEN_PATIENTS_MERGED,
  IDENTITY_STREAM_PREFIX,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
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
  | { kind: 'membership'; event: ReturnType<typeof asIdentityEvent> & object; causationId: string }
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
            ? patientsOf(i.event)
            : i.event.data.facts.map((f) => f.patientId),
      ),
      inputs.flatMap((i) =>
        i.kind === 'command' ? i.goldenIds : i.kind === 'membership' ? goldensOf(i.event) : [],
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
        const moved = await this.applyMembership(state, input.event);
        if (moved.length > 0)
          decide({ kind: 'membership-changed', patientIds: moved, causationId: input.causationId });
      }
    }
    if (decided.length > 0) await this.store.appendMany(appendRequests(decided), { within: client });
    await state.save();
  }

  /** Folds an identity decision into golden membership; returns the source patients it moved. */
  private async applyMembership(
    state: FactMatchingBatchState,
    event: NonNullable<ReturnType<typeof asIdentityEvent>>,
  ): Promise<string[]> {
    if (event.type === PATIENT_LINKED) {
      await state.ensurePatients([event.data.sourcePatientId]);
      await state.ensureGolden(event.data.goldenId);
      if (state.goldenOf(event.data.sourcePatientId) === event.data.goldenId) return [];
      state.join(event.data.sourcePatientId, event.data.goldenId);
      // A merge links each moved patient, then says GoldenPatientsMerged: decided once, when all have moved.
      return event.data.rule === 'merge' ? [] : [event.data.sourcePatientId];
    }
    if (event.type === PATIENT_UNLINKED) {
      await state.ensurePatients([event.data.sourcePatientId]);
      if (state.goldenOf(event.data.sourcePatientId) !== event.data.goldenId) return [];
      state.leave(event.data.sourcePatientId, event.data.goldenId);
      return [event.data.sourcePatientId];
    }
    if (event.type === GOLDEN_PATIENTS_MERGED) {
      await state.ensurePatients(event.data.movedSourcePatientIds);
      await state.ensureGolden(event.data.intoGoldenId);
      const moved = event.data.movedSourcePatientIds;
      for (const id of moved)
        if (state.goldenOf(id) !== event.data.intoGoldenId) state.join(id, event.data.intoGoldenId);
      return moved;
    }
    return [];
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
  if (identity) return [{ kind: 'membership', event: identity, causationId: event.id }];
  const clinical = asClinicalEvent(event);
  // The matcher's own decisions are in its state already; a reviewer's split is folded (and binds the matcher).
  if (clinical && clinical.data.decidedBy.kind === 'reviewer') return [{ kind: 'reviewer', event: clinical }];
  return [];
}

function patientsOf(event: NonNullable<ReturnType<typeof asIdentityEvent>>): string[] {
  if (event.type === GOLDEN_PATIENTS_MERGED) return event.data.movedSourcePatientIds;
  return 'sourcePatientId' in event.data ? [event.data.sourcePatientId] : [];
}

function goldensOf(event: NonNullable<ReturnType<typeof asIdentityEvent>>): string[] {
  if (event.type === GOLDEN_PATIENTS_MERGED) return [event.data.intoGoldenId];
  return event.type === PATIENT_LINKED ? [event.data.goldenId] : [];
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
