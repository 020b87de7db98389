import type { PoolClient } from 'pg';
import type { Patient } from 'fhir/r4';
import type { EventStore, ProcessManager, RecordedEvent } from '@fa/event-store';
import {
  asIngestionEvent,
  RESOURCE_DELETED,
  RESOURCE_VERSION_RECORDED,
  resourceStreamId,
} from '@fa/ingestion';
import { scoreCandidates } from '../domain/candidate-scoring';
import type { DecidedIdentityEvent } from '../domain/decided-identity-event';
import { decideMatching, MatchingCommand } from '../domain/identity-decider';
import { appendRequests } from '../identity-appends';
import { asIdentityEvent, DecidedBy, IDENTITY_STREAM_PREFIX, IdentityEvent } from '../domain/identity-events';
import { bindsMatcher } from '../domain/identity-state';
import type { IdentityMatcher } from '../domain/identity-matcher';
import {
  MATCHING_STATE_SQL,
  MATCHING_STATE_TABLES,
  MATCHING_STATE_UPGRADE_SQL,
  MatchingBatchState,
} from './patient-matching.state';

export const PATIENT_MATCHING_PROCESSOR = 'patient-matching';

/**
 * The online matcher as a process manager: it follows the global log like a projection and, for every source
 * Patient version, loads the state the decision needs, asks the identity decider (domain/identity-decider.ts)
 * and appends the decisions as identity events in the same transaction as its own state and checkpoint
 * (EventStore.appendMany with `within`). It also folds the identity events reviewers cause, so their decisions bind
 * later automatic ones.
 *
 * Its state is not a read model to rebuild: replaying it would decide again. Its version stays fixed; the
 * patient-identity projection, which only records decisions, is the one to rebuild.
 */
export class PatientMatchingProcessor implements ProcessManager {
  readonly kind = 'process-manager';
  readonly name = PATIENT_MATCHING_PROCESSOR;
  readonly version = 1;
  readonly readSchema = 'patient_matching';
  readonly tables = MATCHING_STATE_TABLES;
  /** Source patients, and the golden patients' streams for reviewers' decisions. */
  readonly streamPrefixes = [resourceStreamId('Patient', ''), IDENTITY_STREAM_PREFIX];

  private readonly upgraded = new Set<string>();

  constructor(
    private readonly matcher: IdentityMatcher,
    private readonly store: EventStore,
  ) {}

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(MATCHING_STATE_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    const inputs = events.flatMap((event) => this.inputOf(event));
    if (inputs.length === 0) return;
    if (!this.upgraded.has(schema)) {
      await client.query(MATCHING_STATE_UPGRADE_SQL(schema));
      this.upgraded.add(schema);
    }
    const state = new MatchingBatchState(client, schema, this.matcher);
    await state.load(
      inputs.map((input) => input.sourcePatientId),
      inputs.flatMap((input) => (input.kind === 'version' ? input.keys : [])),
    );
    const decidedBy: DecidedBy = { kind: 'matcher', version: this.matcher.version };
    const decided: DecidedIdentityEvent[] = [];
    for (const input of inputs) {
      if (input.kind === 'reviewer') {
        state.apply(input.event);
        continue;
      }
      const { causationId, sourcePatientId } = input;
      let command: MatchingCommand;
      if (input.kind === 'deleted') {
        command = { kind: 'forget-source-patient', causationId, sourcePatientId, decidedBy };
      } else {
        state.upsert(input.sourcePatientId, input.source, input.features, input.keys);
        const scored = scoreCandidates(
          this.matcher,
          input.features,
          state.candidatesOf(input.sourcePatientId),
          input.keys,
        );
        // A MATCH with two golden patients may merge them: the decider then needs all their members.
        const matching = scored.filter((s) => s.result === 'MATCH').map((s) => s.goldenId);
        if (matching.length > 1) await state.loadMembersOf(matching);
        command = {
          kind: 'match-source-patient',
          causationId,
          sourcePatientId,
          source: input.source,
          scored,
          decidedBy,
        };
      }
      const events = decideMatching(state, command);
      for (const event of events) state.apply(event);
      if (input.kind === 'deleted') state.forget(input.sourcePatientId);
      decided.push(...events);
    }
    if (decided.length > 0) await this.store.appendMany(appendRequests(decided), { within: client });
    await state.save();
  }

  /** What one recorded event asks of the matcher, if anything. */
  private inputOf(event: RecordedEvent): MatcherInput[] {
    const ingestion = asIngestionEvent(event);
    if (ingestion?.type === RESOURCE_VERSION_RECORDED) {
      const { data, metadata: lineage } = ingestion;
      // A late version that does not become current does not move anyone.
      if (data.resourceType !== 'Patient' || lineage.supersedesCurrent === false) return [];
      const features = this.matcher.featuresOf(data.resource as Patient);
      return [
        {
          kind: 'version',
          sourcePatientId: data.id,
          causationId: event.id,
          source: lineage.source,
          features,
          keys: this.matcher.blockingKeysOf(features),
        },
      ];
    }
    if (ingestion?.type === RESOURCE_DELETED) {
      if (ingestion.data.resourceType !== 'Patient') return [];
      return [{ kind: 'deleted', sourcePatientId: ingestion.data.id, causationId: event.id }];
    }
    const identity = asIdentityEvent(event);
    if (!identity || !bindsMatcher(identity) || !('sourcePatientId' in identity.data)) return [];
    return [{ kind: 'reviewer', sourcePatientId: identity.data.sourcePatientId, event: identity }];
  }
}

type MatcherInput =
  | {
      kind: 'version';
      sourcePatientId: string;
      causationId: string;
      source: string;
      features: unknown;
      keys: string[];
    }
  | { kind: 'deleted'; sourcePatientId: string; causationId: string }
  | { kind: 'reviewer'; sourcePatientId: string; event: IdentityEvent };
