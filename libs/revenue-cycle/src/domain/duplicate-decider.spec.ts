import type { Claim } from 'fhir/r4';
import { claimFingerprint, type ClaimFingerprint } from './claim-fingerprint';
import {
  decideDetection,
  type DetectionCommand,
  evolveFinding,
  FindingCommandRejected,
  findingIdOf,
  type FindingState,
} from './duplicate-decider';
import type { RevenueCycleEvent } from '../events/revenue-cycle-event';

const claim = (id: string, patient: string, changes: Partial<Claim> = {}): ClaimFingerprint =>
  claimFingerprint(id, {
    resourceType: 'Claim',
    id,
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    patient: { reference: `Patient/${patient}` },
    provider: { reference: 'Organization/o1' },
    billablePeriod: { start: '2024-03-01', end: '2024-03-01' },
    item: [
      { sequence: 1, productOrService: { coding: [{ system: 'cpt', code: '99213' }] }, net: { value: 120 } },
    ],
    total: { value: 120 },
    ...changes,
  } as Claim)!;

/** Runs commands through decide and evolve, as the processor does; returns every event and the state. */
function run(commands: DetectionCommand[], start: FindingState[] = []) {
  const findings = new Map(start.map((f) => [f.findingId, f]));
  const events: RevenueCycleEvent[] = [];
  for (const command of commands) {
    for (const event of decideDetection({ findings }, command)) {
      findings.set(event.data.findingId, evolveFinding(findings.get(event.data.findingId), event));
      events.push(event);
    }
  }
  return { events, findings };
}

const evaluate = (c: ClaimFingerprint, candidates: ClaimFingerprint[], golden: string | null = 'g1') =>
  ({
    kind: 'evaluate-claim',
    claimId: c.claimId,
    claim: c,
    goldenPatientId: golden ?? undefined,
    candidates,
    causationId: `event-${c.claimId}-${c.status}`,
    detectorVersion: '1',
  }) as const;

describe('duplicate-claim decider', () => {
  const a = claim('a', 'p-source-1');
  const b = claim('b', 'p-source-2');

  it('detects a duplicate across two source patients of one golden patient, naming the rule and fields', () => {
    const { events } = run([evaluate(a, []), evaluate(b, [a])]);
    expect(events).toEqual([
      {
        type: 'DuplicateClaimDetected',
        data: {
          findingId: findingIdOf('a', 'b'),
          claim: 'b',
          duplicateOf: 'a',
          kind: 'exact',
          rule: 'exact-professional',
          matchedFields: ['patient', 'provider', 'from', 'through', 'lines', 'billed'],
          goldenPatientId: 'g1',
          sourcePatientIds: ['p-source-2', 'p-source-1'],
          serviceDate: '2024-03-01',
          causationId: 'event-b-active',
        },
      },
    ]);
    expect(findingIdOf('b', 'a')).toBe(findingIdOf('a', 'b'));
  });

  it('waits for a golden patient: nothing without one', () => {
    expect(run([evaluate(b, [a], null)]).events).toEqual([]);
  });

  it('a later version re-evaluates: unchanged says nothing, cancelled withdraws, another kind withdraws and detects', () => {
    const first = run([evaluate(b, [a])]);
    expect(run([evaluate(b, [a])], [...first.findings.values()]).events).toEqual([]);
    const cancelled = run([evaluate({ ...b, status: 'cancelled' }, [a])], [...first.findings.values()]);
    expect(
      cancelled.events.map((e) => [e.type, 'resolution' in e.data ? e.data.resolution : e.data.kind]),
    ).toEqual([['DuplicateClaimResolved', 'withdrawn']]);
    const repriced = run([evaluate({ ...b, billed: 150 }, [a])], [...first.findings.values()]);
    expect(repriced.events.map((e) => e.type)).toEqual(['DuplicateClaimResolved', 'DuplicateClaimDetected']);
    expect(repriced.findings.get(findingIdOf('a', 'b'))).toMatchObject({ kind: 'suspect', status: 'open' });
    // The original changing keeps the pair's direction: b still duplicates a.
    const originalChanged = run([evaluate({ ...a, billed: 99 }, [b])], [...first.findings.values()]);
    expect(originalChanged.findings.get(findingIdOf('a', 'b'))).toMatchObject({
      claim: 'b',
      duplicateOf: 'a',
    });
  });

  it('leaving the golden patient withdraws the finding', () => {
    const first = run([evaluate(b, [a])]);
    const moved = run([evaluate(b, [], 'g2')], [...first.findings.values()]);
    expect(moved.findings.get(findingIdOf('a', 'b'))?.status).toBe('withdrawn');
  });

  it('adjustments through a chain are not duplicates', () => {
    const related = (id: string, of: string) =>
      claim(id, 'p-source-1', {
        related: [{ claim: { reference: `Claim/${of}` }, relationship: { coding: [{ code: 'replaces' }] } }],
      });
    const c2 = related('c2', 'a');
    const c3 = related('c3', 'c2');
    expect(run([evaluate(c3, [a, c2])]).events).toEqual([]);
  });

  it('a reviewer confirms or dismisses an open finding; a dismissed one stays dismissed while it matches', () => {
    const first = run([evaluate(b, [a])]);
    const id = findingIdOf('a', 'b');
    const dismiss = {
      kind: 'resolve',
      findingId: id,
      resolution: 'dismissed',
      reviewer: 'r1',
      note: 'twins',
    } as const;
    const dismissed = run([dismiss], [...first.findings.values()]);
    expect(dismissed.events[0].data).toMatchObject({
      resolution: 'dismissed',
      decidedBy: { kind: 'reviewer', reviewer: 'r1' },
      note: 'twins',
    });
    expect(run([evaluate(b, [a])], [...dismissed.findings.values()]).events).toEqual([]);
    expect(run([dismiss], [...dismissed.findings.values()]).events).toEqual([]);
    expect(() => decideDetection({ findings: new Map() }, dismiss)).toThrow(FindingCommandRejected);
    const withdrawn = run([evaluate({ ...b, status: 'cancelled' }, [a])], [...first.findings.values()]);
    expect(() => decideDetection({ findings: withdrawn.findings }, dismiss)).toThrow(/withdrawn/);
  });
});
