import {
  CLINICAL_FACTS_LINKED,
  CLINICAL_FACTS_UNLINKED,
  ClinicalEvent,
  ClinicalFactsLinkedData,
} from '../events/clinical-events';

/** A reviewer's command the link's state refuses: the pair is not linked now (404), or changed meanwhile (409). */
export class ClinicalCommandRejected extends Error {
  constructor(
    readonly reason: 'not-linked' | 'concurrent-change',
    message: string,
  ) {
    super(message);
    this.name = 'ClinicalCommandRejected';
  }
}

/** The link as its stream leaves it: the open Linked decision, if any (evolve over the stream's events). */
export function foldLink(events: readonly ClinicalEvent[]): ClinicalFactsLinkedData | undefined {
  let current: ClinicalFactsLinkedData | undefined;
  for (const event of events) current = event.type === CLINICAL_FACTS_LINKED ? event.data : undefined;
  return current;
}

/** A reviewer splits a wrong link: ClinicalFactsUnlinked (reviewer-split), which the matcher never undoes. */
export function decideSplit(
  current: ClinicalFactsLinkedData | undefined,
  command: { linkId: string; reviewer: string; requestId: string; note?: string },
): ClinicalEvent {
  if (!current)
    throw new ClinicalCommandRejected('not-linked', `The two resources are not linked as one fact`);
  return {
    type: CLINICAL_FACTS_UNLINKED,
    data: {
      linkId: command.linkId,
      facts: current.facts,
      reason: 'reviewer-split',
      rule: { ...current.rule, failed: 'reviewer' },
      decidedBy: { kind: 'reviewer', reviewer: command.reviewer },
      causationId: command.requestId,
      ...(command.note ? { note: command.note } : {}),
    },
  };
}
