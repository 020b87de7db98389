import { v5 as uuidv5 } from 'uuid';
import type { ClaimFingerprint } from './claim-fingerprint';
import {
  compareClaims,
  type DuplicateKind,
  type DuplicateMatch,
  type DuplicateRule,
} from './duplicate-rules';
import { DUPLICATE_CLAIM_DETECTED } from '../events/duplicate-claim-detected.event';
import { DUPLICATE_CLAIM_RESOLVED, type FindingDecidedBy } from '../events/duplicate-claim-resolved.event';
import type { RevenueCycleEvent } from '../events/revenue-cycle-event';

const FINDING_NAMESPACE = '3f7c2a10-5d4e-4b8a-9c61-0e2d8f4a7b93';

export type FindingStatus = 'open' | 'confirmed' | 'dismissed' | 'withdrawn';

export interface FindingState {
  findingId: string;
  claim: string;
  duplicateOf: string;
  kind: DuplicateKind;
  rule: DuplicateRule;
  status: FindingStatus;
}

/** The findings that involve the claims a command concerns (either side), by finding id. */
export interface DetectionState {
  findings: ReadonlyMap<string, FindingState>;
}

export type DetectionCommand =
  | {
      kind: 'evaluate-claim';
      claimId: string;
      /** The claim's current version; undefined when deleted or no longer a bill we can read. */
      claim?: ClaimFingerprint;
      /** Its golden patient, when Patient Identity has decided one. */
      goldenPatientId?: string;
      /** Current versions of the golden patient's other claims. */
      candidates: readonly ClaimFingerprint[];
      causationId: string;
      detectorVersion: string;
    }
  | {
      kind: 'resolve';
      findingId: string;
      resolution: 'confirmed' | 'dismissed';
      reviewer: string;
      note?: string;
    };

export class FindingCommandRejected extends Error {
  constructor(
    readonly reason: 'unknown-finding' | 'not-open',
    message: string,
  ) {
    super(message);
  }
}

/** The finding id of a pair of claims, whichever arrived first. */
export function findingIdOf(a: string, b: string): string {
  return uuidv5([a, b].sort().join('|'), FINDING_NAMESPACE);
}

/**
 * Pure decider. evaluate-claim: what the claim's current version says about every pair it is in, against what
 * was found before: new findings, findings withdrawn (the claim changed, was cancelled, adjusted, or left the
 * golden patient), a finding whose kind changed withdrawn and detected again. A finding a reviewer resolved is
 * not re-opened while the pair still matches the same way. resolve: a reviewer confirms or dismisses an open
 * finding (confirming again is nothing new).
 */
export function decideDetection(state: DetectionState, command: DetectionCommand): RevenueCycleEvent[] {
  if (command.kind === 'resolve') return decideResolve(state, command);
  const { claimId, claim, candidates, causationId } = command;
  const decidedBy: FindingDecidedBy = { kind: 'detector', version: command.detectorVersion };
  const expected = new Map<
    string,
    { other: ClaimFingerprint; match: DuplicateMatch; claimIsDuplicate: boolean }
  >();
  if (claim && command.goldenPatientId) {
    const related = replacementChain(claim, candidates);
    for (const other of candidates) {
      if (other.claimId === claimId || related.has(other.claimId)) continue;
      const findingId = findingIdOf(claimId, other.claimId);
      // An existing finding keeps its direction; a new one makes the arriving claim the duplicate.
      const claimIsDuplicate = state.findings.get(findingId)?.duplicateOf !== claimId;
      const match = claimIsDuplicate ? compareClaims(other, claim) : compareClaims(claim, other);
      if (match) expected.set(findingId, { other, match, claimIsDuplicate });
    }
  }
  const events: RevenueCycleEvent[] = [];
  for (const finding of state.findings.values()) {
    if (finding.claim !== claimId && finding.duplicateOf !== claimId) continue;
    if (finding.status === 'withdrawn') continue;
    const now = expected.get(finding.findingId);
    if (now && now.match.kind === finding.kind && now.match.rule === finding.rule) {
      expected.delete(finding.findingId);
      continue;
    }
    events.push({
      type: DUPLICATE_CLAIM_RESOLVED,
      data: {
        findingId: finding.findingId,
        claim: finding.claim,
        duplicateOf: finding.duplicateOf,
        resolution: 'withdrawn',
        decidedBy,
        note: now ? `re-evaluated as ${now.match.rule}` : 'the pair no longer matches a duplicate rule',
        causationId,
      },
    });
  }
  for (const [findingId, { other, match, claimIsDuplicate }] of expected) {
    const [duplicate, original] = claimIsDuplicate ? [claim!, other] : [other, claim!];
    events.push({
      type: DUPLICATE_CLAIM_DETECTED,
      data: {
        findingId,
        claim: duplicate.claimId,
        duplicateOf: original.claimId,
        kind: match.kind,
        rule: match.rule,
        matchedFields: match.matchedFields,
        goldenPatientId: command.goldenPatientId!,
        sourcePatientIds: [...new Set([duplicate.sourcePatientId, original.sourcePatientId])],
        serviceDate: duplicate.from,
        causationId,
      },
    });
  }
  return events;
}

function decideResolve(
  state: DetectionState,
  command: Extract<DetectionCommand, { kind: 'resolve' }>,
): RevenueCycleEvent[] {
  const finding = state.findings.get(command.findingId);
  if (!finding) throw new FindingCommandRejected('unknown-finding', `no finding ${command.findingId}`);
  if (finding.status === command.resolution) return [];
  if (finding.status === 'withdrawn') {
    throw new FindingCommandRejected('not-open', 'the finding was withdrawn when a claim changed');
  }
  return [
    {
      type: DUPLICATE_CLAIM_RESOLVED,
      data: {
        findingId: finding.findingId,
        claim: finding.claim,
        duplicateOf: finding.duplicateOf,
        resolution: command.resolution,
        decidedBy: { kind: 'reviewer', reviewer: command.reviewer },
        ...(command.note ? { note: command.note } : {}),
      },
    },
  ];
}

/** Folds one event into a finding's state. */
export function evolveFinding(finding: FindingState | undefined, event: RevenueCycleEvent): FindingState {
  if (event.type === DUPLICATE_CLAIM_DETECTED) {
    const { findingId, claim, duplicateOf, kind, rule } = event.data;
    return { findingId, claim, duplicateOf, kind, rule, status: 'open' };
  }
  if (!finding)
    throw new Error(`DuplicateClaimResolved before DuplicateClaimDetected: ${event.data.findingId}`);
  return { ...finding, status: event.data.resolution };
}

/** Claims linked to this one by adjustments / replacements, directly or through others. */
function replacementChain(claim: ClaimFingerprint, candidates: readonly ClaimFingerprint[]): Set<string> {
  const edges = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a)!.add(b);
  };
  for (const c of [claim, ...candidates]) {
    for (const r of c.replaces) {
      link(c.claimId, r);
      link(r, c.claimId);
    }
  }
  const seen = new Set<string>([claim.claimId]);
  const queue = [claim.claimId];
  while (queue.length > 0) {
    for (const next of edges.get(queue.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  seen.delete(claim.claimId);
  return seen;
}
