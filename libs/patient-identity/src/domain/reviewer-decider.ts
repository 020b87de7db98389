import { DecidedIdentityEvent, decisionIds, newGoldenPatient, unlinked } from './decided-identity-event';
import { mergeGoldenPatients } from './golden-merge';
import { IdentityCommandRejected } from './identity-command.errors';
import { DecidedBy, LINK_REVIEW_RESOLVED, PATIENT_LINKED } from './identity-events';
import type { GoldenPatientState } from './identity-state';

/** Reviewers' commands ($mdm-update-link, $mdm-merge-golden-resources), decided on the golden patients' streams. */
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
  const id = decisionIds(command.requestId);
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
    const own = newGoldenPatient(id, sourcePatientId, decidedBy, {
      source: member.source,
      manual: true,
      rule: 'reviewer-no-match',
    });
    goldenId = own.goldenId;
    events.push(
      unlinked(id('unlink'), golden.goldenId, sourcePatientId, 'reviewer-no-match', decidedBy),
      ...own.events,
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
  const id = decisionIds(command.requestId);
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
