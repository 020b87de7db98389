import { DecidedIdentityEvent, decisionIds, newGoldenPatient, unlinked } from './decided-identity-event';
import { mergeGoldenPatients } from './golden-merge';
import { DecidedBy, LINK_REVIEW_REQUESTED, MatchExplanation, PATIENT_LINKED } from './identity-events';
import type { SourcePatientState } from './identity-state';
import { decideLink, ScoredGolden } from './link-decision';

/** The matcher's commands: a source Patient version to place, or a source patient deleted at its source. */
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
  /** The discriminating fields on which two placed source patients disagree outright (none when unknown). */
  conflictsBetween(sourcePatientId: string, otherSourcePatientId: string): readonly string[];
}

/**
 * Fields that tell two people of one household apart. A record bridges two golden patients only when each
 * match was reached with these compared (not missing), and the two golden patients never disagree on them.
 */
export const DISCRIMINATING_FIELDS: readonly string[] = ['given_name', 'birth_date'];

function comparedOnDiscriminatingFields(explanation: MatchExplanation): boolean {
  return DISCRIMINATING_FIELDS.every((field) =>
    explanation.comparisons.some((c) => c.field === field && c.level !== 'missing'),
  );
}

/**
 * The matcher's decide: where a new version of a source patient belongs (decideLink) and, when it MATCHes
 * other golden patients too, the merges it implies: a record that matches two golden patients bridges them
 * (what batch linkage's connected components conclude), except where a reviewer decided, and only when it is
 * safe: the record was compared with each on every discriminating field (none missing) and no member of one
 * disagrees outright with a member of the other on them; otherwise a review task asks a person.
 */
export function decideMatching(state: MatchingState, command: MatchingCommand): DecidedIdentityEvent[] {
  const id = decisionIds(command.causationId);
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
    const link = { source: command.source, manual: false, rule: 'new-golden' as const, causationId };
    events.push(...newGoldenPatient(id, sourcePatientId, decidedBy, link).events);
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
    const intoMembers = state.membersOf(into).filter((m) => m.sourcePatientId !== sourcePatientId);
    const conflicts = members.some((m) =>
      intoMembers.some((n) => state.conflictsBetween(m.sourcePatientId, n.sourcePatientId).length > 0),
    );
    const safe =
      !conflicts &&
      comparedOnDiscriminatingFields(decision.explanation) &&
      comparedOnDiscriminatingFields(other.explanation);
    if (!safe) {
      // Not proof enough to merge two people into one: a person decides.
      events.push({
        id: id(`bridge-review|${other.goldenId}`),
        streamGoldenId: other.goldenId,
        type: LINK_REVIEW_REQUESTED,
        data: {
          goldenId: other.goldenId,
          sourcePatientId,
          explanation: other.explanation,
          alternatives: [{ goldenId: into, probability: decision.explanation.probability }],
          causationId,
        },
      });
      continue;
    }
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
