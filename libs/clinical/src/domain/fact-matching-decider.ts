import { v5 as uuidv5 } from 'uuid';
import {
  CLINICAL_FACTS_LINKED,
  CLINICAL_FACTS_UNLINKED,
  ClinicalEvent,
  FactRef,
  refKey,
  UnlinkReason,
} from '../events/clinical-events';
import type { FactFeatures } from './clinical-fact';
import { checkRule, ConceptEquivalences } from './fact-rules';

export const CLINICAL_NAMESPACE = '0b7c3f64-8f1e-5a8e-9a61-3f7e2d1c9b40';
export const MATCHER_VERSION = 1;

export interface StoredFact {
  ref: FactRef;
  features: FactFeatures;
  deleted: boolean;
}

export interface CurrentLink {
  linkId: string;
  facts: [FactRef, FactRef];
}

/** What a decision reads: the facts, the source patients' golden patients, the current links, reviewers' splits. */
export interface ClinicalMatchingState {
  readonly concepts: ConceptEquivalences;
  fact(key: string): StoredFact | undefined;
  factsOfPatient(patientId: string): readonly StoredFact[];
  goldenOf(patientId: string): string | undefined;
  membersOf(goldenId: string): readonly string[];
  linksOf(key: string): readonly CurrentLink[];
  isSplit(a: string, b: string): boolean;
}

export type ClinicalCommand =
  /** A version was recorded: `fact` holds its features (the state may still hold the previous version's). */
  | { kind: 'fact-recorded'; fact: StoredFact; causationId: string }
  | { kind: 'fact-deleted'; key: string; causationId: string }
  /** Patient Identity moved these source patients (the state already holds their new golden patients). */
  | { kind: 'membership-changed'; patientIds: string[]; causationId: string };

/** The pair's link id: the same two resources always have the same link (and stream). */
export function linkIdOf(a: FactRef, b: FactRef): string {
  return uuidv5([refKey(a), refKey(b)].sort().join('|'), CLINICAL_NAMESPACE);
}

const matcher = { kind: 'matcher' as const, version: MATCHER_VERSION };

/**
 * The matcher's decisions for one command: links that no longer hold are unlinked (with the rule that failed),
 * then the facts concerned are matched against the facts of the other source patients of their golden patient.
 * A fact is linked to at most one fact of each other source: candidate pairs are taken best first (equal
 * detail, then the closest times), so two visits the same day with the same code are not crossed.
 */
export function decideClinical(state: ClinicalMatchingState, command: ClinicalCommand): ClinicalEvent[] {
  const { causationId } = command;
  const view = overlay(state, command.kind === 'fact-recorded' ? command.fact : undefined);
  const events: ClinicalEvent[] = [];
  const unlinked = new Set<string>();
  const unlink = (
    link: CurrentLink,
    reason: UnlinkReason,
    rule?: { id: string; reason: string; failed: string },
  ) => {
    if (unlinked.has(link.linkId)) return;
    unlinked.add(link.linkId);
    events.push({
      type: CLINICAL_FACTS_UNLINKED,
      data: {
        linkId: link.linkId,
        facts: link.facts,
        reason,
        ...(rule ? { rule } : {}),
        decidedBy: matcher,
        causationId,
      },
    });
  };
  let subjects: StoredFact[];
  if (command.kind === 'fact-deleted') {
    for (const link of state.linksOf(command.key)) unlink(link, 'resource-deleted');
    return events;
  } else if (command.kind === 'fact-recorded') {
    const fact = command.fact;
    const key = refKey(fact.ref);
    for (const link of state.linksOf(key)) {
      const other = view.fact(refKey(partnerOf(link, key)));
      if (!other || other.deleted) continue;
      if (view.goldenOf(fact.ref.patientId) !== view.goldenOf(other.ref.patientId)) {
        unlink(link, 'patients-separated');
        continue;
      }
      const check = checkRule(fact.features, other.features, state.concepts);
      if (!check.holds)
        unlink(link, 'resource-changed', {
          id: check.rule.id,
          reason: check.rule.reason,
          failed: check.failed,
        });
    }
    subjects = fact.deleted ? [] : [fact];
  } else {
    subjects = command.patientIds.flatMap((id) => view.factsOfPatient(id).filter((f) => !f.deleted));
    for (const fact of subjects) {
      const key = refKey(fact.ref);
      for (const link of state.linksOf(key)) {
        const other = partnerOf(link, key);
        const golden = view.goldenOf(fact.ref.patientId);
        if (golden === undefined || golden !== view.goldenOf(other.patientId))
          unlink(link, 'patients-separated');
      }
    }
  }
  events.push(...proposeLinks(view, subjects, unlinked, causationId));
  return events;
}

function proposeLinks(
  state: ClinicalMatchingState,
  subjects: readonly StoredFact[],
  unlinked: ReadonlySet<string>,
  causationId: string,
): ClinicalEvent[] {
  interface Pair {
    left: StoredFact;
    right: StoredFact;
    goldenId: string;
    timeDeltaMs: number;
    detailEqual: boolean;
    rule: { id: string; reason: string };
  }
  const pairs: Pair[] = [];
  const candidatesByGolden = new Map<string, Map<string, StoredFact[]>>();
  for (const left of subjects) {
    const goldenId = state.goldenOf(left.ref.patientId);
    if (goldenId === undefined) continue;
    const byCode = candidatesOf(state, goldenId, candidatesByGolden);
    const seen = new Set<string>();
    for (const code of left.features.codes) {
      for (const c of [code, ...(state.concepts.get(code) ?? [])]) {
        for (const right of byCode.get(c) ?? []) {
          const rightKey = refKey(right.ref);
          if (seen.has(rightKey)) continue;
          seen.add(rightKey);
          if (right.ref.source === left.ref.source || right.ref.patientId === left.ref.patientId) continue;
          if (right.features.kind !== left.features.kind) continue;
          const check = checkRule(left.features, right.features, state.concepts);
          if (!check.holds) continue;
          pairs.push({
            left,
            right,
            goldenId,
            timeDeltaMs: check.timeDeltaMs,
            detailEqual: check.detailEqual,
            rule: { id: check.rule.id, reason: check.rule.reason },
          });
        }
      }
    }
  }
  pairs.sort(
    (a, b) =>
      Number(b.detailEqual) - Number(a.detailEqual) ||
      a.timeDeltaMs - b.timeDeltaMs ||
      refKey(a.left.ref).localeCompare(refKey(b.left.ref)) ||
      refKey(a.right.ref).localeCompare(refKey(b.right.ref)),
  );
  // Sources each fact is already linked to (links unlinked by this decision no longer count).
  const linkedSources = new Map<string, Set<string>>();
  const sourcesOf = (fact: StoredFact) => {
    const key = refKey(fact.ref);
    let sources = linkedSources.get(key);
    if (!sources) {
      sources = new Set(
        state
          .linksOf(key)
          .filter((link) => !unlinked.has(link.linkId))
          .map((link) => partnerOf(link, key).source),
      );
      linkedSources.set(key, sources);
    }
    return sources;
  };
  const events: ClinicalEvent[] = [];
  for (const pair of pairs) {
    const left = sourcesOf(pair.left);
    const right = sourcesOf(pair.right);
    if (left.has(pair.right.ref.source) || right.has(pair.left.ref.source)) continue;
    if (state.isSplit(refKey(pair.left.ref), refKey(pair.right.ref))) continue;
    left.add(pair.right.ref.source);
    right.add(pair.left.ref.source);
    const facts = [pair.left.ref, pair.right.ref].sort((a, b) => refKey(a).localeCompare(refKey(b))) as [
      FactRef,
      FactRef,
    ];
    events.push({
      type: CLINICAL_FACTS_LINKED,
      data: {
        linkId: linkIdOf(facts[0], facts[1]),
        goldenId: pair.goldenId,
        kind: pair.left.features.kind,
        facts,
        rule: pair.rule,
        timeDeltaMs: pair.timeDeltaMs,
        decidedBy: matcher,
        causationId,
      },
    });
  }
  return events;
}

/** The golden patient's facts by code, once per decision. */
function candidatesOf(
  state: ClinicalMatchingState,
  goldenId: string,
  cache: Map<string, Map<string, StoredFact[]>>,
): Map<string, StoredFact[]> {
  let byCode = cache.get(goldenId);
  if (byCode) return byCode;
  byCode = new Map();
  for (const patientId of state.membersOf(goldenId)) {
    for (const fact of state.factsOfPatient(patientId)) {
      if (fact.deleted) continue;
      for (const code of fact.features.codes) {
        let list = byCode.get(code);
        if (!list) byCode.set(code, (list = []));
        list.push(fact);
      }
    }
  }
  cache.set(goldenId, byCode);
  return byCode;
}

export function partnerOf(link: CurrentLink, key: string): FactRef {
  return refKey(link.facts[0]) === key ? link.facts[1] : link.facts[0];
}

/** The state with the command's new version of a fact in place of the stored one. */
function overlay(state: ClinicalMatchingState, fact: StoredFact | undefined): ClinicalMatchingState {
  if (!fact) return state;
  const key = refKey(fact.ref);
  return {
    concepts: state.concepts,
    fact: (k) => (k === key ? fact : state.fact(k)),
    factsOfPatient: (patientId) => {
      const others = state.factsOfPatient(patientId).filter((f) => refKey(f.ref) !== key);
      return patientId === fact.ref.patientId ? [...others, fact] : others;
    },
    goldenOf: (patientId) => state.goldenOf(patientId),
    membersOf: (goldenId) => state.membersOf(goldenId),
    linksOf: (k) => state.linksOf(k),
    isSplit: (a, b) => state.isSplit(a, b),
  };
}
