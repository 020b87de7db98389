import type { Claim, ClaimItem, CodeableConcept, Reference } from 'fhir/r4';

/** One billed line, as the duplicate rules compare it. */
export interface ClaimLineKey {
  sequence: number;
  /** system|code of the first productOrService coding (text when it has no coding). */
  code: string;
  /** Modifier codes, upper case, sorted. */
  modifiers: string[];
  quantity: number;
  net?: number;
  /** Service days (YYYY-MM-DD) of the line, from servicedDate/servicedPeriod, else the claim's. */
  from: string;
  through: string;
}

/** What duplicate detection knows of one Claim version: no PHI beyond ids, codes, dates and amounts. */
export interface ClaimFingerprint {
  claimId: string;
  sourcePatientId: string;
  /** The billing provider: a literal reference's target, or the conditional reference / identifier as sent. */
  provider: string;
  /** claim-type code: institutional, professional, pharmacy, oral, vision. */
  type: string;
  /** Institutional type of bill (supportingInfo typeofbill, else subType), when given. */
  typeOfBill?: string;
  status: string;
  from: string;
  through: string;
  /** Total charges: Claim.total, else the sum of line nets. */
  billed?: number;
  lines: ClaimLineKey[];
  /** Claims this one adjusts or replaces (related.relationship prior / replaces): never its duplicates. */
  replaces: string[];
}

/** Modifiers that justify a repeat of the same service on the same day (NCCI / CMS): such lines never overlap. */
export const REPEAT_MODIFIERS = new Set(['59', '76', '77', '91', 'XE', 'XS', 'XP', 'XU']);

/** Statuses under which a claim is no longer a bill: it is neither duplicated nor a duplicate. */
export const INACTIVE_STATUSES = new Set(['cancelled', 'entered-in-error']);

/** The fingerprint of a Claim, or undefined when it names no patient or has no service date at all. */
export function claimFingerprint(claimId: string, claim: Claim): ClaimFingerprint | undefined {
  const sourcePatientId = referenceId(claim.patient, 'Patient');
  const claimDays = daysOf(claim.billablePeriod?.start, claim.billablePeriod?.end);
  const items = claim.item ?? [];
  const lineDays = items.map((item) =>
    daysOf(item.servicedDate ?? item.servicedPeriod?.start, item.servicedDate ?? item.servicedPeriod?.end),
  );
  const known = [claimDays, ...lineDays].filter((d): d is Days => d !== undefined);
  if (!sourcePatientId || known.length === 0) return undefined;
  const from = claimDays?.from ?? known.map((d) => d.from).sort()[0];
  const through =
    claimDays?.through ??
    known
      .map((d) => d.through)
      .sort()
      .at(-1)!;
  const lines = items.map((item, i) => lineKey(item, i, lineDays[i] ?? { from, through }));
  const nets = lines.map((l) => l.net).filter((n): n is number => n !== undefined);
  const total = amount(claim.total?.value);
  return {
    claimId,
    sourcePatientId,
    provider: providerKey(claim.provider),
    type: claim.type?.coding?.[0]?.code ?? claim.type?.text ?? 'unknown',
    typeOfBill: typeOfBill(claim),
    status: claim.status ?? 'unknown',
    from,
    through,
    billed: total ?? (nets.length > 0 ? round(nets.reduce((a, b) => a + b, 0)) : undefined),
    lines,
    replaces: (claim.related ?? [])
      .filter((r) => r.relationship?.coding?.some((c) => c.code === 'prior' || c.code === 'replaces'))
      .map((r) => referenceId(r.claim, 'Claim'))
      .filter((id): id is string => id !== undefined),
  };
}

interface Days {
  from: string;
  through: string;
}

function daysOf(start: string | undefined, end: string | undefined): Days | undefined {
  const from = start?.slice(0, 10) ?? end?.slice(0, 10);
  if (!from) return undefined;
  return { from, through: end?.slice(0, 10) ?? from };
}

function lineKey(item: ClaimItem, index: number, days: Days): ClaimLineKey {
  return {
    sequence: item.sequence ?? index + 1,
    code: conceptKey(item.productOrService),
    modifiers: (item.modifier ?? [])
      .flatMap((m) => m.coding?.map((c) => (c.code ?? '').toUpperCase()) ?? [])
      .sort(),
    quantity: amount(item.quantity?.value) ?? 1,
    net: amount(item.net?.value),
    ...days,
  };
}

function conceptKey(concept: CodeableConcept | undefined): string {
  const coding = concept?.coding?.[0];
  if (coding?.code) return `${coding.system ?? ''}|${coding.code}`;
  return `|${concept?.text ?? ''}`;
}

function typeOfBill(claim: Claim): string | undefined {
  const info = claim.supportingInfo?.find((s) => s.category?.coding?.some((c) => c.code === 'typeofbill'));
  const code = info?.code?.coding?.[0]?.code ?? claim.subType?.coding?.[0]?.code;
  return code ?? undefined;
}

/** A literal reference's id; conditional references (Type?identifier=…) and identifiers as written. */
function providerKey(reference: Reference | undefined): string {
  if (!reference) return 'unknown';
  if (reference.reference) return referenceId(reference, undefined) ?? reference.reference;
  if (reference.identifier?.value)
    return `${reference.identifier.system ?? ''}|${reference.identifier.value}`;
  return reference.display ?? 'unknown';
}

function referenceId(reference: Reference | undefined, type: string | undefined): string | undefined {
  const text = reference?.reference;
  if (!text || text.includes('?')) return type ? undefined : text;
  const match = /(?:^|\/)([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/.exec(text);
  if (!match || (type && match[1] !== type)) return undefined;
  return type ? match[2] : `${match[1]}/${match[2]}`;
}

/** A FHIR decimal (a number, or a FhirDecimal whose valueOf is its number) as a number. */
function amount(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
