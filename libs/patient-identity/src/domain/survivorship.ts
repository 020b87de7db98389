import type { Extension, Patient } from 'fhir/r4';

/** How a golden patient's field is chosen among its source patients. */
export type SurvivorshipRule = 'most-recent' | 'most-complete' | 'most-trusted' | 'union';

export interface SurvivorshipPolicy {
  rules: Partial<Record<GoldenField, SurvivorshipRule>>;
  /** Sources in order of trust, for 'most-trusted' (unlisted sources rank last; ties go to the most recent). */
  trustedSources: string[];
}

export const GOLDEN_FIELDS = [
  'name',
  'gender',
  'birthDate',
  'deceasedBoolean',
  'deceasedDateTime',
  'address',
  'telecom',
  'identifier',
  'maritalStatus',
  'communication',
] as const;
export type GoldenField = (typeof GOLDEN_FIELDS)[number];

export const DEFAULT_SURVIVORSHIP: SurvivorshipPolicy = {
  rules: {
    name: 'most-recent',
    gender: 'most-recent',
    birthDate: 'most-trusted',
    deceasedBoolean: 'most-recent',
    deceasedDateTime: 'most-recent',
    address: 'most-recent',
    telecom: 'union',
    identifier: 'union',
    maritalStatus: 'most-recent',
    communication: 'most-complete',
  },
  trustedSources: [],
};

export interface GoldenMember {
  sourcePatientId: string;
  source: string;
  patient: Patient;
  /** Record time of the member's version: what "most recent" compares. */
  recordedAt: Date;
}

export const GOLDEN_RECORD_TAG = {
  system: 'http://hapifhir.io/fhir/NamingSystem/mdm-record-status',
  code: 'GOLDEN_RECORD',
  display: 'Golden Record',
};
export const FIELD_SOURCE_EXTENSION = 'https://fhir-aggregator.dev/StructureDefinition/golden-field-source';

/**
 * The golden Patient: each field from the member its rule picks, with an extension per field naming the
 * source patient (and source) that supplied it, and a link to every member.
 */
export function buildGoldenPatient(
  goldenId: string,
  members: GoldenMember[],
  policy: SurvivorshipPolicy = DEFAULT_SURVIVORSHIP,
): Patient {
  const golden: Record<string, unknown> = { resourceType: 'Patient', id: goldenId };
  const lineage: Extension[] = [];
  const byRecency = [...members].sort((a, b) => b.recordedAt.getTime() - a.recordedAt.getTime());
  const trust = (m: GoldenMember) => {
    const rank = policy.trustedSources.indexOf(m.source);
    return rank < 0 ? Number.MAX_SAFE_INTEGER : rank;
  };
  for (const field of GOLDEN_FIELDS) {
    const rule = policy.rules[field] ?? 'most-recent';
    const having = byRecency.filter((m) => hasValue(fieldOf(m, field)));
    if (having.length === 0) continue;
    if (rule === 'union') {
      const seen = new Set<string>();
      const values: unknown[] = [];
      for (const member of having) {
        for (const value of fieldOf(member, field) as unknown[]) {
          const key = JSON.stringify(value);
          if (seen.has(key)) continue;
          seen.add(key);
          values.push(value);
        }
      }
      golden[field] = values;
      for (const member of having) lineage.push(fieldSource(field, member));
      continue;
    }
    const chosen =
      rule === 'most-complete'
        ? [...having].sort((a, b) => leafCount(fieldOf(b, field)) - leafCount(fieldOf(a, field)))[0]
        : rule === 'most-trusted'
          ? [...having].sort((a, b) => trust(a) - trust(b))[0]
          : having[0];
    golden[field] = fieldOf(chosen, field);
    lineage.push(fieldSource(field, chosen));
  }
  golden.meta = {
    lastUpdated: byRecency[0]?.recordedAt.toISOString(),
    tag: [GOLDEN_RECORD_TAG],
  };
  golden.extension = lineage;
  golden.link = members.map((m) => ({
    other: { reference: `Patient/${m.sourcePatientId}` },
    type: 'seealso' as const,
  }));
  return golden as unknown as Patient;
}

function fieldOf(member: GoldenMember, field: string): unknown {
  return (member.patient as unknown as Record<string, unknown>)[field];
}

function fieldSource(field: string, member: GoldenMember): Extension {
  return {
    url: FIELD_SOURCE_EXTENSION,
    extension: [
      { url: 'field', valueString: field },
      { url: 'source', valueString: member.source },
      { url: 'patient', valueReference: { reference: `Patient/${member.sourcePatientId}` } },
    ],
  };
}

function hasValue(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

function leafCount(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + leafCount(v), 0);
  if (typeof value === 'object') return Object.values(value).reduce((n: number, v) => n + leafCount(v), 0);
  return 1;
}

/**
 * A deployment's survivorship (IDENTITY_SURVIVORSHIP) over the defaults, e.g.
 * {"rules": {"birthDate": "most-trusted"}, "trustedSources": ["registry", "hospital-a"]}.
 */
export function survivorshipPolicyOf(given: unknown): SurvivorshipPolicy {
  if (given === undefined) return DEFAULT_SURVIVORSHIP;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new Error('expected an object with "rules" and/or "trustedSources"');
  }
  const { rules: givenRules, trustedSources } = given as { rules?: unknown; trustedSources?: unknown };
  if (givenRules !== undefined && (typeof givenRules !== 'object' || givenRules === null)) {
    throw new Error('"rules" must map fields to rules');
  }
  if (
    trustedSources !== undefined &&
    !(Array.isArray(trustedSources) && trustedSources.every((t) => typeof t === 'string'))
  ) {
    throw new Error('"trustedSources" must be a list of source names');
  }
  const rules = { ...DEFAULT_SURVIVORSHIP.rules, ...((givenRules ?? {}) as SurvivorshipPolicy['rules']) };
  const allowed = new Set<SurvivorshipRule>(['most-recent', 'most-complete', 'most-trusted', 'union']);
  for (const [field, rule] of Object.entries(rules)) {
    if (!(GOLDEN_FIELDS as readonly string[]).includes(field) || !allowed.has(rule)) {
      throw new Error(`${field}: ${String(rule)} is not a known field and rule`);
    }
  }
  return { rules, trustedSources: (trustedSources as string[] | undefined) ?? [] };
}
