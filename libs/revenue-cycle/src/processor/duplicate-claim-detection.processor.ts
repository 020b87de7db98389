import type { PoolClient } from 'pg';
import type { Claim } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import type { AppendRequest, EventStore, ProcessManager, RecordedEvent } from '@fa/event-store';
import {
  asIngestionEvent,
  RESOURCE_DELETED,
  RESOURCE_VERSION_RECORDED,
  resourceStreamId,
} from '@fa/ingestion';
import { asIdentityEvent, IDENTITY_STREAM_PREFIX, membershipChangesOf } from '@fa/patient-identity';
import { claimFingerprint, type ClaimFingerprint } from '../domain/claim-fingerprint';
import { decideDetection, evolveFinding } from '../domain/duplicate-decider';
import { DUPLICATE_CLAIM_RESOLVED } from '../events/duplicate-claim-resolved.event';
import {
  asRevenueCycleEvent,
  FINDING_STREAM_PREFIX,
  findingStreamId,
  type RevenueCycleEvent,
} from '../events/revenue-cycle-event';
import {
  DETECTION_STATE_SQL,
  DETECTION_STATE_TABLES,
  DetectionBatchState,
} from './duplicate-detection.state';

export const DUPLICATE_CLAIM_DETECTOR = 'duplicate-claim-detection';
export const DETECTOR_VERSION = '1';
const EVENT_NAMESPACE = '9d2e6b41-0f3a-4c7d-8e15-6a4b2c9f0d37';

/**
 * Duplicate-claim detection online, as a process manager: for every current Claim version it loads the claim's
 * golden patient (from Patient Identity's link events, which it folds into its own state) and that golden
 * patient's other claims, asks the pure decider (domain/duplicate-decider.ts) and appends its findings in the
 * same transaction as its state and checkpoint. A claim whose patient Patient Identity has not linked yet waits
 * for the link; a link that moves a source patient re-evaluates that patient's claims; a later version of a
 * claim re-evaluates every finding it is in. Reviewers' resolutions are folded in so they bind.
 */
export class DuplicateClaimDetectionProcessor implements ProcessManager {
  readonly kind = 'process-manager';
  readonly name = DUPLICATE_CLAIM_DETECTOR;
  readonly version = 1;
  readonly readSchema = 'revenue_cycle_detection';
  readonly tables = DETECTION_STATE_TABLES;
  readonly streamPrefixes = [resourceStreamId('Claim', ''), IDENTITY_STREAM_PREFIX, FINDING_STREAM_PREFIX];

  constructor(private readonly store: EventStore) {}

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(DETECTION_STATE_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    const inputs = events.flatMap((event) => inputsOf(event));
    if (inputs.length === 0) return;
    const state = new DetectionBatchState(client, schema);
    await state.load({
      claimIds: inputs.flatMap((i) => (i.kind === 'claim' || i.kind === 'claim-deleted' ? [i.claimId] : [])),
      sourcePatientIds: inputs.flatMap((i) =>
        i.kind === 'claim' && i.fingerprint
          ? [i.fingerprint.sourcePatientId]
          : i.kind === 'link'
            ? [i.sourcePatientId]
            : [],
      ),
      goldenIds: inputs.flatMap((i) => (i.kind === 'link' && i.goldenId ? [i.goldenId] : [])),
      findingIds: inputs.flatMap((i) => (i.kind === 'review' ? [i.event.data.findingId] : [])),
    });
    const decided: { event: RevenueCycleEvent; id: string }[] = [];
    const evaluate = (claimId: string, causationId: string) => {
      const claim = state.claim(claimId);
      const goldenPatientId = claim && state.goldenOf(claim.sourcePatientId);
      const findings = state.findingsOf(claimId);
      const out = decideDetection(
        { findings },
        {
          kind: 'evaluate-claim',
          claimId,
          claim: claim?.fingerprint,
          goldenPatientId,
          candidates:
            goldenPatientId && claim?.fingerprint ? state.candidates(goldenPatientId, claim.fingerprint) : [],
          causationId,
          detectorVersion: DETECTOR_VERSION,
        },
      );
      for (const event of out) {
        state.putFinding(evolveFinding(findings.get(event.data.findingId), event));
        decided.push({ event, id: eventIdOf(causationId, event) });
      }
    };
    for (const input of inputs) {
      if (input.kind === 'claim') {
        const sourcePatientId =
          input.fingerprint?.sourcePatientId ?? state.claim(input.claimId)?.sourcePatientId;
        if (sourcePatientId) state.putClaim(input.claimId, sourcePatientId, input.fingerprint);
        evaluate(input.claimId, input.causationId);
      } else if (input.kind === 'claim-deleted') {
        state.forgetClaim(input.claimId);
        evaluate(input.claimId, input.causationId);
      } else if (input.kind === 'link') {
        // An unlink counts only from the golden patient the source patient is in (a move unlinks, then links).
        if (input.goldenId === undefined && state.goldenOf(input.sourcePatientId) !== input.from) continue;
        if (!state.setGolden(input.sourcePatientId, input.goldenId)) continue;
        for (const claimId of state.claimsOfPatient(input.sourcePatientId))
          evaluate(claimId, input.causationId);
      } else {
        const before = state.finding(input.event.data.findingId);
        if (before) state.putFinding(evolveFinding(before, input.event));
      }
    }
    await state.save();
    if (decided.length > 0) await this.store.appendMany(appendRequests(decided), { within: client });
  }
}

type DetectorInput =
  | { kind: 'claim'; claimId: string; fingerprint?: ClaimFingerprint; causationId: string }
  | { kind: 'claim-deleted'; claimId: string; causationId: string }
  /** goldenId undefined: unlinked from `from`. */
  | { kind: 'link'; sourcePatientId: string; goldenId?: string; from?: string; causationId: string }
  | { kind: 'review'; event: Extract<RevenueCycleEvent, { type: typeof DUPLICATE_CLAIM_RESOLVED }> };

/** What one recorded event asks of the detector, if anything. */
function inputsOf(event: RecordedEvent): DetectorInput[] {
  const ingestion = asIngestionEvent(event);
  if (ingestion?.type === RESOURCE_VERSION_RECORDED) {
    const { data, metadata } = ingestion;
    // A late version that does not become current changes nothing.
    if (data.resourceType !== 'Claim' || metadata.supersedesCurrent === false) return [];
    const fingerprint = claimFingerprint(data.id, data.resource as Claim);
    return [{ kind: 'claim', claimId: data.id, fingerprint, causationId: event.id }];
  }
  if (ingestion?.type === RESOURCE_DELETED) {
    if (ingestion.data.resourceType !== 'Claim') return [];
    return [{ kind: 'claim-deleted', claimId: ingestion.data.id, causationId: event.id }];
  }
  const identity = asIdentityEvent(event);
  if (identity) {
    return membershipChangesOf(identity).map((change) =>
      change.kind === 'joined'
        ? {
            kind: 'link',
            sourcePatientId: change.sourcePatientId,
            goldenId: change.goldenId,
            causationId: event.id,
          }
        : {
            kind: 'link',
            sourcePatientId: change.sourcePatientId,
            from: change.goldenId,
            causationId: event.id,
          },
    );
  }
  const finding = asRevenueCycleEvent(event);
  // Only reviewers' decisions: the detector's own were folded when it made them.
  if (finding?.type === DUPLICATE_CLAIM_RESOLVED && finding.data.decidedBy.kind === 'reviewer') {
    return [{ kind: 'review', event: finding }];
  }
  return [];
}

/** Deterministic: the same decision about the same cause is the same event (a repeat after a crash appends nothing). */
function eventIdOf(causationId: string, event: RevenueCycleEvent): string {
  const what = event.type === DUPLICATE_CLAIM_RESOLVED ? event.data.resolution : event.data.kind;
  return uuidv5(`${causationId}|${event.data.findingId}|${event.type}|${what}`, EVENT_NAMESPACE);
}

function appendRequests(decided: { event: RevenueCycleEvent; id: string }[]): AppendRequest[] {
  const byStream = new Map<string, AppendRequest>();
  for (const { event, id } of decided) {
    const streamId = findingStreamId(event.data.findingId);
    let request = byStream.get(streamId);
    if (!request) byStream.set(streamId, (request = { streamId, events: [] }));
    request.events.push({ id, type: event.type, data: event.data });
  }
  return [...byStream.values()];
}
