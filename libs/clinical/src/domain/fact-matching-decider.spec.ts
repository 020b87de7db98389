import { CLINICAL_FACTS_LINKED, CLINICAL_FACTS_UNLINKED, refKey } from '../events/clinical-events';
import { featuresOf } from './clinical-fact';
import {
  ClinicalMatchingState,
  CurrentLink,
  decideClinical,
  linkIdOf,
  StoredFact,
} from './fact-matching-decider';
import { checkRule, FACT_RULES, learnEquivalences } from './fact-rules';

const LOINC = 'http://loinc.org';

function observation(
  id: string,
  patient: string,
  source: string,
  overrides: Record<string, unknown> = {},
): StoredFact {
  const resource = {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: LOINC, code: '29463-7' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: '2020-01-01T10:00:00Z',
    valueQuantity: { value: 70.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    ...overrides,
  };
  return {
    ref: { resourceType: 'Observation', id, source, patientId: patient },
    features: featuresOf(resource)!,
    deleted: false,
  };
}

/** A small in-memory state: facts, golden membership, links, splits. */
function stateOf(
  facts: StoredFact[],
  golden: Record<string, string>,
  links: CurrentLink[] = [],
  splits: string[][] = [],
) {
  const concepts = new Map<string, Set<string>>();
  for (const f of facts) learnEquivalences(concepts, f.features.codingLists);
  const state: ClinicalMatchingState = {
    concepts,
    fact: (key) => facts.find((f) => refKey(f.ref) === key),
    factsOfPatient: (id) => facts.filter((f) => f.ref.patientId === id),
    goldenOf: (id) => golden[id],
    membersOf: (g) => Object.keys(golden).filter((id) => golden[id] === g),
    linksOf: (key) => links.filter((l) => l.facts.some((r) => refKey(r) === key)),
    isSplit: (a, b) => splits.some(([x, y]) => (x === a && y === b) || (x === b && y === a)),
  };
  return state;
}

describe('clinical fact rules and the matching decider', () => {
  it('declares one rule per kind, each with a reason', () => {
    for (const rule of Object.values(FACT_RULES)) {
      expect(rule.id).toMatch(/^[a-z0-9-]+$/);
      expect(rule.reason.length).toBeGreaterThan(20);
    }
  });

  it('same code, time within tolerance and the value re-expressed in g is the same fact; another value is not', () => {
    const a = observation('a', 'p1', 'hospital');
    const grams = observation('b', 'p2', 'clinic', {
      effectiveDateTime: '2020-01-01T10:00:42Z',
      valueQuantity: { value: 70500, unit: 'g', code: 'g' },
    });
    expect(checkRule(a.features, grams.features, new Map())).toMatchObject({
      holds: true,
      timeDeltaMs: 42_000,
    });
    const other = observation('c', 'p2', 'clinic', { valueQuantity: { value: 71, unit: 'kg', code: 'kg' } });
    expect(checkRule(a.features, other.features, new Map())).toMatchObject({ holds: false, failed: 'value' });
    const late = observation('d', 'p2', 'clinic', { effectiveDateTime: '2020-01-01T10:06:00Z' });
    expect(checkRule(a.features, late.features, new Map())).toMatchObject({ holds: false, failed: 'time' });
  });

  it('a local code matches through a coding list of the data that holds both', () => {
    const a = observation('a', 'p1', 'hospital');
    const both = observation('b', 'p2', 'clinic', {
      code: {
        coding: [
          { system: 'local', code: 'W' },
          { system: LOINC, code: '29463-7' },
        ],
      },
    });
    const localOnly = observation('c', 'p2', 'clinic', {
      code: { coding: [{ system: 'local', code: 'W' }] },
    });
    expect(checkRule(a.features, localOnly.features, new Map())).toMatchObject({
      holds: false,
      failed: 'code',
    });
    const concepts = new Map<string, Set<string>>();
    learnEquivalences(concepts, both.features.codingLists);
    expect(checkRule(a.features, localOnly.features, concepts)).toMatchObject({ holds: true });
  });

  it('links a fact to the closest candidate of another source in the same golden patient, one per source', () => {
    const a = observation('a', 'p1', 'hospital');
    const near = observation('b', 'p2', 'clinic', { effectiveDateTime: '2020-01-01T10:00:05Z' });
    const far = observation('c', 'p2', 'clinic', { effectiveDateTime: '2020-01-01T10:03:00Z' });
    const elsewhere = observation('d', 'p3', 'clinic');
    const state = stateOf([near, far, elsewhere], { p1: 'g', p2: 'g', p3: 'h' });
    const events = decideClinical(state, { kind: 'fact-recorded', fact: a, causationId: 'e1' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: CLINICAL_FACTS_LINKED,
      data: { goldenId: 'g', timeDeltaMs: 5000, rule: { id: FACT_RULES.Observation.id }, causationId: 'e1' },
    });
    expect(events[0].data.facts.map(refKey).sort()).toEqual(['Observation/a', 'Observation/b']);
  });

  it('a new version that no longer matches is unlinked with the failed rule; a split pair is never relinked', () => {
    const a = observation('a', 'p1', 'hospital');
    const b = observation('b', 'p2', 'clinic');
    const link = { linkId: linkIdOf(a.ref, b.ref), facts: [a.ref, b.ref] as [typeof a.ref, typeof b.ref] };
    const changed = observation('a', 'p1', 'hospital', {
      valueQuantity: { value: 80, unit: 'kg', code: 'kg' },
    });
    const events = decideClinical(stateOf([a, b], { p1: 'g', p2: 'g' }, [link]), {
      kind: 'fact-recorded',
      fact: changed,
      causationId: 'e2',
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: CLINICAL_FACTS_UNLINKED,
        data: expect.objectContaining({
          reason: 'resource-changed',
          rule: expect.objectContaining({ failed: 'value' }),
        }),
      }),
    ]);
    const split = stateOf([b], { p1: 'g', p2: 'g' }, [], [['Observation/a', 'Observation/b']]);
    expect(decideClinical(split, { kind: 'fact-recorded', fact: a, causationId: 'e3' })).toEqual([]);
  });

  it('patients separated by Patient Identity lose their links; joined ones are matched as a whole', () => {
    const a = observation('a', 'p1', 'hospital');
    const b = observation('b', 'p2', 'clinic');
    const link = { linkId: linkIdOf(a.ref, b.ref), facts: [a.ref, b.ref] as [typeof a.ref, typeof b.ref] };
    const apart = decideClinical(stateOf([a, b], { p1: 'g', p2: 'h' }, [link]), {
      kind: 'membership-changed',
      patientIds: ['p2'],
      causationId: 'e4',
    });
    expect(apart).toEqual([
      expect.objectContaining({
        type: CLINICAL_FACTS_UNLINKED,
        data: expect.objectContaining({ reason: 'patients-separated' }),
      }),
    ]);
    const joined = decideClinical(stateOf([a, b], { p1: 'g', p2: 'g' }), {
      kind: 'membership-changed',
      patientIds: ['p2'],
      causationId: 'e5',
    });
    expect(joined).toEqual([expect.objectContaining({ type: CLINICAL_FACTS_LINKED })]);
  });
});
