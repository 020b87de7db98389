import { v5 as uuidv5 } from 'uuid';
import { IdentityCommandRejected } from './identity-command.errors';
import {
  DecidedBy,
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  IdentityEvent,
  LINK_REVIEW_REQUESTED,
  LINK_REVIEW_RESOLVED,
  MatchExplanation,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
} from './identity-events';
import type { GoldenPatientState, SourcePatientState } from './identity-state';
import { decideLink, ScoredGolden } from './link-decision';

/** Namespace of golden patient ids and decision event ids (UUIDv5): replays and retries decide the same ids. */
export const IDENTITY_NAMESPACE = '0b7c4e0e-2f55-4d8e-9a8f-6c1d3f0f9a11';

/** A decision: an identity event, its deterministic id, and the golden patient whose stream it goes to. */
export type DecidedIdentityEvent = IdentityEvent & { id: string; streamGoldenId: string };

// ---------------------------------------------------------------------------------------------------------
// The matcher's commands: a source Patient version to place, or a source patient deleted at its source.

export interface MatchSourcePatient {
  kind: 'match-source-patient';
  /** The recorded Patient version: decision ids derive from it. */
  causationId: string;
  sourcePatientId: string;
  source: string;
  /** Each candidate golden patient scored by its best-agreeing member (scoreCandidates). */
  scored: ScoredGolden[];
  decidedBy: DecidedBy;
}

export interface ForgetSourcePatient {
  kind: 'forget-source-patient';
  causationId: string;
  sourcePatientId: string;
  decidedBy: DecidedBy;
}

export type MatchingCommand = MatchSourcePatient | ForgetSourcePatient;

/** The part of the matcher's state a decision reads. */
export interface MatchingState {
  sourcePatient(sourcePatientId: string): SourcePatientState | undefined;
  /** Source patients linked to a golden patient; complete for every golden patient a command scores MATCH. */
  membersOf(goldenId: string): readonly SourcePatientState[];
}

/**
 * The matcher's decide: where a new version of a source patient belongs (decideLink) and, when it MATCHes
 * other golden patients too, the merges it implies: a record that matches two golden patients bridges them
 * (what batch linkage's connected components conclude), except where a reviewer decided.
 */
export function decideMatching(state: MatchingState, command: MatchingCommand): DecidedIdentityEvent[] {
  const id = (name: string) => uuidv5(`${command.causationId}|${name}`, IDENTITY_NAMESPACE);
  const { sourcePatientId, decidedBy, causationId } = command;
  const current = state.sourcePatient(sourcePatientId);
  if (command.kind === 'forget-source-patient') {
    if (!current?.goldenId) return [];
    return [
      unlinked(id('unlink'), current.goldenId, sourcePatientId, 'source-deleted', decidedBy, causationId),
    ];
  }
  const decision = decideLink(
    {
      goldenId: current?.goldenId ?? undefined,
      manual: current?.manual ?? false,
      notMatching: current?.notMatching ?? new Set(),
    },
    command.scored,
  );
  if (decision.kind === 'keep') return [];
  const events: DecidedIdentityEvent[] = [];
  if (decision.unlinkFrom) {
    events.push(
      unlinked(
        id('unlink'),
        decision.unlinkFrom,
        sourcePatientId,
        'moved-by-matcher',
        decidedBy,
        causationId,
      ),
    );
  }
  if (decision.kind === 'create-golden') {
    const goldenId = id('golden');
    events.push(
      {
        id: id('golden-created'),
        streamGoldenId: goldenId,
        type: GOLDEN_PATIENT_CREATED,
        data: { goldenId, firstSourcePatientId: sourcePatientId, decidedBy },
      },
      {
        id: id('link'),
        streamGoldenId: goldenId,
        type: PATIENT_LINKED,
        data: {
          goldenId,
          sourcePatientId,
          source: command.source,
          matchResult: 'MATCH',
          manual: false,
          rule: 'new-golden',
          decidedBy,
          causationId,
        },
      },
    );
    return events;
  }
  const into = decision.goldenId;
  events.push({
    id: id('link'),
    streamGoldenId: into,
    type: PATIENT_LINKED,
    data: {
      goldenId: into,
      sourcePatientId,
      source: command.source,
      matchResult: decision.possible ? 'POSSIBLE_MATCH' : 'MATCH',
      manual: false,
      rule: decision.possible ? 'possible-match' : 'auto-match',
      explanation: decision.explanation,
      decidedBy,
      causationId,
    },
  });
  if (decision.possible) {
    events.push({
      id: id('review'),
      streamGoldenId: into,
      type: LINK_REVIEW_REQUESTED,
      data: {
        goldenId: into,
        sourcePatientId,
        explanation: decision.explanation,
        alternatives: decision.alternatives.map((a) => ({
          goldenId: a.goldenId,
          probability: a.explanation.probability,
        })),
        causationId,
      },
    });
    return events;
  }
  const notMatching = current?.notMatching ?? new Set<string>();
  for (const other of decision.alternatives) {
    if (other.result !== 'MATCH' || other.goldenId === into || notMatching.has(other.goldenId)) continue;
    // The record itself has just left `other` if it was there.
    const members = state.membersOf(other.goldenId).filter((m) => m.sourcePatientId !== sourcePatientId);
    if (members.some((m) => m.manual || m.notMatching.has(into))) continue;
    events.push(
      ...mergeGoldenPatients({
        fromGoldenId: other.goldenId,
        intoGoldenId: into,
        members,
        manual: false,
        explanation: other.explanation,
        decidedBy,
        causationId,
        ids: {
          unlink: (moved) => id(`merge-unlink|${moved}`),
          link: (moved) => id(`merge-link|${moved}`),
          merged: id(`merged|${other.goldenId}`),
        },
      }),
    );
  }
  return events;
}

/**
 * The one merge rule, for the matcher's bridging merges and reviewers' merges alike: every member of
 * `fromGoldenId` leaves it for `intoGoldenId`, and `fromGoldenId` records that it was merged.
 */
function mergeGoldenPatients(merge: {
  fromGoldenId: string;
  intoGoldenId: string;
  members: readonly { sourcePatientId: string; source: string }[];
  manual: boolean;
  explanation?: MatchExplanation;
  decidedBy: DecidedBy;
  causationId?: string;
  ids: { unlink(sourcePatientId: string): string; link(sourcePatientId: string): string; merged: string };
}): DecidedIdentityEvent[] {
  const { fromGoldenId, intoGoldenId, decidedBy, causationId } = merge;
  const events: DecidedIdentityEvent[] = [];
  for (const moved of merge.members) {
    events.push(
      unlinked(
        merge.ids.unlink(moved.sourcePatientId),
        fromGoldenId,
        moved.sourcePatientId,
        'merge',
        decidedBy,
        causationId,
      ),
      {
        id: merge.ids.link(moved.sourcePatientId),
        streamGoldenId: intoGoldenId,
        type: PATIENT_LINKED,
        data: {
          goldenId: intoGoldenId,
          sourcePatientId: moved.sourcePatientId,
          source: moved.source,
          matchResult: 'MATCH',
          manual: merge.manual,
          rule: 'merge',
          ...(merge.explanation ? { explanation: merge.explanation } : {}),
          decidedBy,
          ...(causationId ? { causationId } : {}),
        },
      },
    );
  }
  events.push({
    id: merge.ids.merged,
    streamGoldenId: fromGoldenId,
    type: GOLDEN_PATIENTS_MERGED,
    data: {
      fromGoldenId,
      intoGoldenId,
      movedSourcePatientIds: merge.members.map((m) => m.sourcePatientId),
      decidedBy,
    },
  });
  return events;
}

function unlinked(
  id: string,
  goldenId: string,
  sourcePatientId: string,
  reason: 'moved-by-matcher' | 'reviewer-no-match' | 'reviewer-match-elsewhere' | 'merge' | 'source-deleted',
  decidedBy: DecidedBy,
  causationId?: string,
): DecidedIdentityEvent {
  return {
    id,
    streamGoldenId: goldenId,
    type: PATIENT_UNLINKED,
    data: { goldenId, sourcePatientId, reason, decidedBy, ...(causationId ? { causationId } : {}) },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Reviewers' commands ($mdm-update-link, $mdm-merge-golden-resources), decided on the golden patients' streams.

export interface UpdateLink {
  kind: 'update-link';
  goldenId: string;
  sourcePatientId: string;
  matchResult: 'MATCH' | 'NO_MATCH';
  reviewer: string;
  /** Makes a retried request decide the same ids. */
  requestId: string;
}

export interface UpdateLinkState {
  /** The golden patient the command names. */
  golden: GoldenPatientState;
  /** The golden patient the source patient is linked to now, if any (may be `golden` itself). */
  current?: GoldenPatientState;
}

/**
 * A reviewer says a source patient is (MATCH) or is not (NO_MATCH) the golden patient; the decision is manual
 * and binds the matcher from then on. NO_MATCH of a member moves it to a golden patient of its own, for good.
 */
export function decideUpdateLink(
  state: UpdateLinkState,
  command: UpdateLink,
): { goldenId: string; events: DecidedIdentityEvent[] } {
  const { golden, current } = state;
  assertLive(golden);
  const member = current?.members.get(command.sourcePatientId);
  if (!current || !member) {
    throw new IdentityCommandRejected(
      'unknown-source-patient',
      `Patient/${command.sourcePatientId} is not linked to any golden patient`,
    );
  }
  const id = (n: string) => uuidv5(`${command.requestId}|${n}`, IDENTITY_NAMESPACE);
  const decidedBy: DecidedBy = { kind: 'reviewer', reviewer: command.reviewer };
  const { sourcePatientId } = command;
  const events: DecidedIdentityEvent[] = [];
  let goldenId = current.goldenId;
  if (command.matchResult === 'MATCH') {
    if (current.goldenId !== golden.goldenId) {
      events.push(
        unlinked(id('unlink'), current.goldenId, sourcePatientId, 'reviewer-match-elsewhere', decidedBy),
      );
    }
    events.push({
      id: id('link'),
      streamGoldenId: golden.goldenId,
      type: PATIENT_LINKED,
      data: {
        sourcePatientId,
        decidedBy,
        goldenId: golden.goldenId,
        source: member.source,
        matchResult: 'MATCH',
        manual: true,
        rule: 'reviewer-match',
      },
    });
    goldenId = golden.goldenId;
  } else if (current.goldenId === golden.goldenId) {
    goldenId = id('golden');
    events.push(
      unlinked(id('unlink'), golden.goldenId, sourcePatientId, 'reviewer-no-match', decidedBy),
      {
        id: id('golden-created'),
        streamGoldenId: goldenId,
        type: GOLDEN_PATIENT_CREATED,
        data: { goldenId, firstSourcePatientId: sourcePatientId, decidedBy },
      },
      {
        id: id('link'),
        streamGoldenId: goldenId,
        type: PATIENT_LINKED,
        data: {
          sourcePatientId,
          decidedBy,
          goldenId,
          source: member.source,
          matchResult: 'MATCH',
          manual: true,
          rule: 'reviewer-no-match',
        },
      },
    );
  }
  events.push({
    id: id('resolved'),
    streamGoldenId: golden.goldenId,
    type: LINK_REVIEW_RESOLVED,
    data: {
      sourcePatientId,
      decidedBy,
      goldenId: golden.goldenId,
      resolution: command.matchResult,
    },
  });
  return { goldenId, events };
}

export interface MergeGoldenPatients {
  kind: 'merge-golden-patients';
  fromGoldenId: string;
  intoGoldenId: string;
  reviewer: string;
  requestId: string;
}

/** A reviewer merges two golden patients: every link of `from` moves to `into`, which survives. */
export function decideMergeGoldenPatients(
  state: { from: GoldenPatientState; into: GoldenPatientState },
  command: MergeGoldenPatients,
): { moved: string[]; events: DecidedIdentityEvent[] } {
  if (command.fromGoldenId === command.intoGoldenId) {
    throw new IdentityCommandRejected('same-golden', 'A golden patient cannot be merged into itself');
  }
  assertLive(state.from);
  assertLive(state.into);
  const id = (n: string) => uuidv5(`${command.requestId}|${n}`, IDENTITY_NAMESPACE);
  const members = [...state.from.members]
    .map(([sourcePatientId, { source }]) => ({ sourcePatientId, source }))
    .sort((a, b) =>
      a.sourcePatientId < b.sourcePatientId ? -1 : a.sourcePatientId > b.sourcePatientId ? 1 : 0,
    );
  return {
    moved: members.map((m) => m.sourcePatientId),
    events: mergeGoldenPatients({
      fromGoldenId: command.fromGoldenId,
      intoGoldenId: command.intoGoldenId,
      members,
      manual: true,
      decidedBy: { kind: 'reviewer', reviewer: command.reviewer },
      ids: { unlink: (s) => id(`unlink|${s}`), link: (s) => id(`link|${s}`), merged: id('merged') },
    }),
  };
}

function assertLive(golden: GoldenPatientState): void {
  if (!golden.created) {
    throw new IdentityCommandRejected('unknown-golden', `Patient/${golden.goldenId} is not a golden patient`);
  }
  if (golden.mergedInto) {
    throw new IdentityCommandRejected(
      'golden-merged',
      `Patient/${golden.goldenId} was merged into Patient/${golden.mergedInto}`,
    );
  }
}
