/**
 * A second claims source made from synthea-79's Claims, with ground truth: exact duplicates, suspect
 * duplicates (same provider and overlapping dates; another provider on the same day), adjustments and
 * replacements (related prior / replaces), legitimate repeats (modifiers 59, 76, 77, 91, XE/XS/XP/XU, LT/RT; other
 * units) and clean claims. Deterministic for a seed. The source's Patients are copies of synthea-79's (so Patient
 * Identity links them to the same golden patients) and each patient gets a Coverage resource.
 */
import { seededRandom } from '@fa/patient-identity';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type SeededKind = 'exact' | 'suspect' | 'adjustment' | 'modifier-repeat' | 'units' | 'clean';

export interface SeededClaim {
  /** The generated claim's id in the second source. */
  claimId: string;
  kind: SeededKind;
  /** For exact and suspect: the synthea-79 claim it duplicates; for adjustments: the claim it replaces (this source). */
  of?: { source: 'original' | 'generated'; claimId: string };
  rule?: string;
}

export interface GeneratedClaimsSource {
  patients: Json[];
  coverages: Json[];
  claims: Json[];
  /** The payer's answer to each clean claim: every line submitted at its net, 80% of it paid. */
  claimResponses: Json[];
  truth: SeededClaim[];
}

export interface GeneratorCounts {
  exact: number;
  suspectSameProvider: number;
  suspectOtherProvider: number;
  adjustments: number;
  modifierRepeats: number;
  units: number;
  clean: number;
}

export const DEFAULT_COUNTS: GeneratorCounts = {
  exact: 40,
  suspectSameProvider: 30,
  suspectOtherProvider: 20,
  adjustments: 20,
  modifierRepeats: 24,
  units: 10,
  clean: 40,
};

const REPEAT_MODIFIERS = ['59', '76', '77', '91', 'XE', 'XS', 'XP', 'XU'];
const RELATIONSHIP = 'http://terminology.hl7.org/CodeSystem/related-claim-relationship';
const MODIFIERS = 'http://www.ama-assn.org/go/cpt';
const DAY = 86_400_000;

export function generateDuplicateClaims(
  original: { claims: Json[]; patients: Json[] },
  options: { seed?: number; counts?: GeneratorCounts } = {},
): GeneratedClaimsSource {
  const random = seededRandom(options.seed ?? 79);
  const counts = options.counts ?? DEFAULT_COUNTS;
  const busy = new Map<string, [string, string][]>();
  const book = (patient: string, from: string, through: string) => {
    if (!busy.has(patient)) busy.set(patient, []);
    busy.get(patient)!.push([from, through]);
  };
  const free = (patient: string, from: string, through: string) =>
    !(busy.get(patient) ?? []).some(([f, t]) => f <= through && from <= t);
  for (const claim of original.claims) book(patientOf(claim), ...days(claim));

  // Seeds: claims whose patient has no other claim on an overlapping day (no natural twin to confuse the truth).
  const isolated = shuffle(
    original.claims.filter((claim) => {
      const [from, through] = days(claim);
      return (busy.get(patientOf(claim)) ?? []).filter(([f, t]) => f <= through && from <= t).length === 1;
    }),
    random,
  ).filter((claim) => claim.item?.some((item: Json) => item.net) && claim.total);
  const providers = [
    ...new Set(original.claims.map((c) => c.provider?.reference).filter(Boolean)),
  ] as string[];
  let next = 0;
  const take = () => {
    if (next >= isolated.length) throw new Error('generateDuplicateClaims: not enough isolated claims');
    return isolated[next++];
  };

  const claims: Json[] = [];
  const truth: SeededClaim[] = [];
  const emit = (claim: Json, seeded: Omit<SeededClaim, 'claimId'>) => {
    claims.push(claim);
    truth.push({ claimId: claim.id, ...seeded });
    book(patientOf(claim), ...days(claim));
  };
  /** A copy of `claim` moved by whole weeks to days its patient has no claim on. */
  const moved = (claim: Json, id: string) => {
    for (let weeks = 1; weeks < 200; weeks++) {
      const copy = shifted(claim, id, weeks * 7 * DAY);
      if (free(patientOf(copy), ...days(copy))) return copy;
    }
    throw new Error(`no free day for ${claim.id}`);
  };

  for (let i = 0; i < counts.exact; i++) {
    const a = take();
    emit({ ...clone(a), id: `exact-${i}` }, { kind: 'exact', of: { source: 'original', claimId: a.id } });
  }
  for (let i = 0; i < counts.suspectSameProvider; i++) {
    const a = take();
    const b = withAmounts(clone(a), 1.1);
    b.id = `suspect-provider-${i}`;
    // The same visit billed again a little later the same day, at other charges.
    b.billablePeriod = { start: a.billablePeriod.start, end: addMs(a.billablePeriod.end, 20 * 60_000) };
    emit(b, {
      kind: 'suspect',
      of: { source: 'original', claimId: a.id },
      rule: 'suspect-same-provider-overlap',
    });
  }
  for (let i = 0; i < counts.suspectOtherProvider; i++) {
    const a = take();
    const b = clone(a);
    b.id = `suspect-other-${i}`;
    const others = providers.filter((p) => p !== a.provider.reference);
    b.provider = { reference: others[Math.floor(random() * others.length)] };
    emit(b, {
      kind: 'suspect',
      of: { source: 'original', claimId: a.id },
      rule: 'suspect-other-provider-same-day',
    });
  }
  for (let i = 0; i < counts.adjustments; i++) {
    const original = moved(take(), `adjusted-${i}`);
    emit(original, { kind: 'clean' });
    const replacement = withAmounts(clone(original), 0.9);
    replacement.id = `adjustment-${i}`;
    replacement.related = [
      {
        claim: { reference: `Claim/${original.id}` },
        relationship: { coding: [{ system: RELATIONSHIP, code: i % 2 === 0 ? 'prior' : 'replaces' }] },
      },
    ];
    emit(replacement, { kind: 'adjustment', of: { source: 'generated', claimId: original.id } });
  }
  for (let i = 0; i < counts.modifierRepeats; i++) {
    const original = moved(take(), `repeated-${i}`);
    const lineIndex = original.item.findIndex((item: Json) => item.net);
    const laterality = i % 3 === 2;
    if (laterality) original.item[lineIndex].modifier = [modifier('RT')];
    emit(original, { kind: 'clean' });
    const line = { ...clone(original.item[lineIndex]), sequence: 1 };
    line.modifier = [modifier(laterality ? 'LT' : REPEAT_MODIFIERS[i % REPEAT_MODIFIERS.length])];
    delete line.informationSequence;
    emit(single(original, `repeat-${i}`, line), { kind: 'modifier-repeat' });
  }
  for (let i = 0; i < counts.units; i++) {
    const original = moved(take(), `unit-original-${i}`);
    emit(original, { kind: 'clean' });
    const lineIndex = original.item.findIndex((item: Json) => item.net);
    const line = { ...clone(original.item[lineIndex]), sequence: 1, quantity: { value: 2 } };
    line.net = { ...line.net, value: round(Number(line.net.value) * 2) };
    delete line.informationSequence;
    emit(single(original, `units-${i}`, line), { kind: 'units' });
  }
  for (let i = 0; i < counts.clean; i++) emit(moved(take(), `clean-${i}`), { kind: 'clean' });

  const patients = original.patients.map((p) => clone(p));
  const coverages = patients.map((p) => ({
    resourceType: 'Coverage',
    id: `coverage-${p.id}`,
    status: 'active',
    beneficiary: { reference: `Patient/${p.id}` },
    payor: [{ display: 'Clearinghouse Health Plan' }],
    class: [{ type: { coding: [{ code: 'plan' }] }, value: 'CHP Gold' }],
    period: { start: '1900-01-01', end: '2099-12-31' },
  }));
  const cleanIds = new Set(truth.filter((t) => t.kind === 'clean').map((t) => t.claimId));
  const claimResponses = claims.filter((c) => cleanIds.has(c.id)).map(claimResponseOf);
  return { patients, coverages, claims, claimResponses, truth };
}

const ADJUDICATION = 'http://terminology.hl7.org/CodeSystem/adjudication';

function claimResponseOf(claim: Json): Json {
  const amount = (code: string, value: number) => ({
    category: { coding: [{ system: ADJUDICATION, code }] },
    amount: { value, currency: 'USD' },
  });
  return {
    resourceType: 'ClaimResponse',
    id: `response-${claim.id}`,
    status: 'active',
    type: claim.type,
    use: 'claim',
    patient: claim.patient,
    created: claim.created,
    insurer: { display: 'Clearinghouse Health Plan' },
    request: { reference: `Claim/${claim.id}` },
    outcome: 'complete',
    item: (claim.item ?? []).map((line: Json) => {
      const net = Number(line.net?.value ?? 0);
      return {
        itemSequence: line.sequence,
        adjudication: [amount('submitted', net), amount('benefit', round(net * 0.8))],
      };
    }),
  };
}

function single(original: Json, id: string, line: Json): Json {
  const claim = clone(original);
  claim.id = id;
  claim.item = [line];
  delete claim.supportingInfo;
  claim.total = { ...claim.total, value: line.net.value };
  return claim;
}

function modifier(code: string): Json {
  return { coding: [{ system: MODIFIERS, code }] };
}

function withAmounts(claim: Json, factor: number): Json {
  for (const item of claim.item ?? [])
    if (item.net) item.net = { ...item.net, value: round(Number(item.net.value) * factor) };
  if (claim.total) claim.total = { ...claim.total, value: round(Number(claim.total.value) * factor) };
  return claim;
}

function shifted(claim: Json, id: string, ms: number): Json {
  const copy = clone(claim);
  copy.id = id;
  copy.billablePeriod = {
    start: addMs(claim.billablePeriod.start, ms),
    end: addMs(claim.billablePeriod.end, ms),
  };
  if (copy.created) copy.created = addMs(claim.created, ms);
  return copy;
}

function addMs(instant: string, ms: number): string {
  return new Date(new Date(instant).getTime() + ms).toISOString().replace('.000Z', '+00:00');
}

function days(claim: Json): [string, string] {
  const start = new Date(claim.billablePeriod.start).toISOString().slice(0, 10);
  const end = new Date(claim.billablePeriod.end ?? claim.billablePeriod.start).toISOString().slice(0, 10);
  return [start, end];
}

function patientOf(claim: Json): string {
  return claim.patient.reference;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
