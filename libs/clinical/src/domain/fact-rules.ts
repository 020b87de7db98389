import type { FactFeatures, FactKind, FactValue } from './clinical-fact';

/** One kind's rule for "the same fact": codes equivalent, times within the tolerance, values equal if asked. */
export interface FactRule {
  id: string;
  /** Greatest difference between the two facts' clinically relevant times. */
  toleranceMs: number;
  /** Whether the values (an Observation's value and unit, or its components) must be equal. */
  compareValues: boolean;
  /** Kept on every decision taken by the rule. */
  reason: string;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The rules per kind, in one table: every link names the rule (and reason) that made it. */
export const FACT_RULES: Readonly<Record<FactKind, FactRule>> = {
  Condition: {
    id: 'condition-code-onset-1d',
    toleranceMs: DAY,
    compareValues: false,
    reason: 'equivalent condition codes, onset (or recorded date) within 1 day',
  },
  AllergyIntolerance: {
    id: 'allergy-code-onset-1d',
    toleranceMs: DAY,
    compareValues: false,
    reason: 'equivalent substance codes, onset (or recorded date) within 1 day',
  },
  Medication: {
    id: 'medication-code-authored-1h',
    toleranceMs: HOUR,
    compareValues: false,
    reason: 'equivalent medication codes, authored (or effective) within 1 hour',
  },
  Immunization: {
    id: 'immunization-vaccine-occurrence-1d',
    toleranceMs: DAY,
    compareValues: false,
    reason: 'equivalent vaccine codes, occurrence within 1 day',
  },
  Procedure: {
    id: 'procedure-code-performed-1h',
    toleranceMs: HOUR,
    compareValues: false,
    reason: 'equivalent procedure codes, performed start within 1 hour',
  },
  Observation: {
    id: 'observation-code-effective-5m-value',
    toleranceMs: 5 * MINUTE,
    compareValues: true,
    reason: 'equivalent observation codes, effective time within 5 minutes, equal value (units converted)',
  },
  DiagnosticReport: {
    id: 'report-code-effective-5m',
    toleranceMs: 5 * MINUTE,
    compareValues: false,
    reason: 'equivalent report codes, effective time within 5 minutes',
  },
  Encounter: {
    id: 'encounter-type-start-10m',
    toleranceMs: 10 * MINUTE,
    compareValues: false,
    reason: 'equivalent encounter types, period start within 10 minutes',
  },
};

/** Codes known to name the same concept: each code's co-occurring codes in some coding list of the data. */
export type ConceptEquivalences = ReadonlyMap<string, ReadonlySet<string>>;

export type RuleCheck =
  | { holds: true; rule: FactRule; timeDeltaMs: number; detailEqual: boolean }
  | { holds: false; rule: FactRule; failed: 'kind' | 'status' | 'code' | 'time' | 'value' };

/** Whether two facts are the same fact by their kind's rule; when they are not, which part failed. */
export function checkRule(a: FactFeatures, b: FactFeatures, concepts: ConceptEquivalences): RuleCheck {
  const rule = FACT_RULES[a.kind];
  if (a.kind !== b.kind) return { holds: false, rule, failed: 'kind' };
  if (a.status === 'entered-in-error' || b.status === 'entered-in-error')
    return { holds: false, rule, failed: 'status' };
  if (!codesEquivalent(a.codes, b.codes, concepts)) return { holds: false, rule, failed: 'code' };
  if (a.time === null || b.time === null) return { holds: false, rule, failed: 'time' };
  const timeDeltaMs = Math.abs(a.time - b.time);
  if (timeDeltaMs > rule.toleranceMs) return { holds: false, rule, failed: 'time' };
  if (rule.compareValues && !valuesEqual(a.value, b.value, concepts))
    return { holds: false, rule, failed: 'value' };
  return { holds: true, rule, timeDeltaMs, detailEqual: a.detail === b.detail };
}

/** Equal codes, or a code of one side that some coding list of the data holds together with one of the other's. */
export function codesEquivalent(a: readonly string[], b: readonly string[], concepts: ConceptEquivalences) {
  if (a.length === 0 || b.length === 0) return false;
  const other = new Set(b);
  for (const code of a) {
    if (other.has(code)) return true;
    for (const equivalent of concepts.get(code) ?? []) if (other.has(equivalent)) return true;
  }
  return false;
}

export function valuesEqual(
  a: FactValue | null,
  b: FactValue | null,
  concepts: ConceptEquivalences,
): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'quantity': {
      const q = b as typeof a;
      return a.unit === q.unit && Math.abs(a.value - q.value) <= 1e-9 * Math.max(1, Math.abs(a.value));
    }
    case 'codes':
      return codesEquivalent(a.codes, (b as typeof a).codes, concepts);
    case 'text':
      return a.text === (b as typeof a).text;
    case 'components': {
      const parts = (b as typeof a).parts;
      return (
        a.parts.length === parts.length &&
        a.parts.every(
          (part, i) =>
            codesEquivalent(part.codes, parts[i].codes, concepts) &&
            valuesEqual(part.value, parts[i].value, concepts),
        )
      );
    }
  }
}

/** Adds each list's codes as equivalent to one another (in place): the concepts a coding list names twice. */
export function learnEquivalences(
  concepts: Map<string, Set<string>>,
  lists: readonly string[][],
): string[][] {
  const added: string[][] = [];
  for (const list of lists) {
    for (const code of list) {
      for (const other of list) {
        if (code === other) continue;
        let set = concepts.get(code);
        if (!set) concepts.set(code, (set = new Set()));
        if (!set.has(other)) {
          set.add(other);
          added.push([code, other]);
        }
      }
    }
  }
  return added;
}
