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
import {
  asIdentityEvent,
  GOLDEN_PATIENTS_MERGED,
  IDENTITY_STREAM_PREFIX,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from '@fa/patient-identity';
import { claimFingerprint } from '../domain/claim-fingerprint';
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
  DetectionStateStore,
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
    const state = new DetectionStateStore(client, schema);
    const decided: { event: RevenueCycleEvent; id: string }[] = [];
    const evaluate = async (claimId: string, causationId: string) => {
      const claim = await state.claim(claimId);
      const goldenPatientId = claim && (await state.goldenOf(claim.sourcePatientId));
      const findings = await state.findingsOf(claimId);
      const out = decideDetection(
        { findings },
        {
          kind: 'evaluate-claim',
          claimId,
          claim: claim?.fingerprint,
          goldenPatientId,
          candidates: goldenPatientId ? await state.candidates(goldenPatientId, claimId) : [],
          causationId,
          detectorVersion: DETECTOR_VERSION,
        },
      );
      for (const event of out) {
        await state.putFinding(evolveFinding(findings.get(event.data.findingId), event));
        decided.push({ event, id: eventIdOf(causationId, event) });
      }
    };
    const reevaluatePatient = async (sourcePatientId: string, causationId: string) => {
      for (const claimId of await state.claimsOfPatient(sourcePatientId))
        await evaluate(claimId, causationId);
    };

    for (const event of events) {
      const ingestion = asIngestionEvent(event);
      if (ingestion?.type === RESOURCE_VERSION_RECORDED) {
        const { data, metadata } = ingestion;
        // A late version that does not become current changes nothing.
        if (data.resourceType !== 'Claim' || metadata.supersedesCurrent === false) continue;
        const fingerprint = claimFingerprint(data.id, data.resource as Claim);
        const sourcePatientId = fingerprint?.sourcePatientId ?? (await state.claim(data.id))?.sourcePatientId;
        if (sourcePatientId) await state.putClaim(data.id, sourcePatientId, fingerprint);
        await evaluate(data.id, event.id);
        continue;
      }
      if (ingestion?.type === RESOURCE_DELETED) {
        if (ingestion.data.resourceType !== 'Claim') continue;
        await state.forgetClaim(ingestion.data.id);
        await evaluate(ingestion.data.id, event.id);
        continue;
      }
      const identity = asIdentityEvent(event);
      if (identity?.type === PATIENT_LINKED) {
        if (await state.setGolden(identity.data.sourcePatientId, identity.data.goldenId)) {
          await reevaluatePatient(identity.data.sourcePatientId, event.id);
        }
      } else if (identity?.type === PATIENT_UNLINKED) {
        const { sourcePatientId, goldenId } = identity.data;
        if (
          (await state.goldenOf(sourcePatientId)) === goldenId &&
          (await state.setGolden(sourcePatientId, undefined))
        ) {
          await reevaluatePatient(sourcePatientId, event.id);
        }
      } else if (identity?.type === GOLDEN_PATIENTS_MERGED) {
        for (const sourcePatientId of identity.data.movedSourcePatientIds) {
          if (await state.setGolden(sourcePatientId, identity.data.intoGoldenId)) {
            await reevaluatePatient(sourcePatientId, event.id);
          }
        }
      }
      const finding = asRevenueCycleEvent(event);
      // Only reviewers' decisions: the detector's own were folded when it made them.
      if (finding?.type === DUPLICATE_CLAIM_RESOLVED && finding.data.decidedBy.kind === 'reviewer') {
        const before = await state.finding(finding.data.findingId);
        if (before) await state.putFinding(evolveFinding(before, finding));
      }
    }
    if (decided.length > 0) await this.store.appendMany(appendRequests(decided), { within: client });
  }
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
