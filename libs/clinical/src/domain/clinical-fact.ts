import { UcumLhcUtils } from '@lhncbc/ucum-lhc';

/**
 * What the matcher compares of a clinical resource: its kind, the codes of its main concept, its clinically
 * relevant time and its value. Pure: extracted from the recorded resource alone.
 */

/** The kinds of clinical fact matched across sources (MedicationRequest and MedicationStatement are one kind). */
export type FactKind =
  | 'Condition'
  | 'AllergyIntolerance'
  | 'Medication'
  | 'Immunization'
  | 'Procedure'
  | 'Observation'
  | 'DiagnosticReport'
  | 'Encounter';

export const KIND_OF_TYPE: Readonly<Record<string, FactKind>> = {
  Condition: 'Condition',
  AllergyIntolerance: 'AllergyIntolerance',
  MedicationRequest: 'Medication',
  MedicationStatement: 'Medication',
  Immunization: 'Immunization',
  Procedure: 'Procedure',
  Observation: 'Observation',
  DiagnosticReport: 'DiagnosticReport',
  Encounter: 'Encounter',
};

export const FACT_RESOURCE_TYPES: readonly string[] = Object.keys(KIND_OF_TYPE);

/** A value, in a form compared for equality: a quantity in its canonical unit, codes, or normalized text. */
export type FactValue =
  | { kind: 'quantity'; value: number; unit: string }
  | { kind: 'codes'; codes: string[] }
  | { kind: 'text'; text: string }
  | { kind: 'components'; parts: { codes: string[]; value: FactValue | null }[] };

export interface FactFeatures {
  kind: FactKind;
  /** "system|code" of the main concept's codings (or "text|<text>" when it has none). */
  codes: string[];
  /** Coding lists with more than one coding: the same concept in several code systems, learnt from the data. */
  codingLists: string[][];
  /** The clinically relevant time (ms since the epoch): onset, occurrence, effective time, performed start. */
  time: number | null;
  value: FactValue | null;
  /** Content that tells apart two facts equal on code, time and value (a report's text, say): a tie-breaker. */
  detail: string | null;
  /** The resource's own status (entered-in-error facts are never linked). */
  status: string | null;
}

interface Coding {
  system?: string;
  code?: string;
}
interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}
interface Quantity {
  value?: number | { toString(): string };
  unit?: string;
  system?: string;
  code?: string;
}
type Json = Record<string, unknown>;

/** The patient a clinical resource belongs to: Patient/<id> of subject or patient. */
export function subjectOf(resource: Json): string | null {
  const reference = ((resource.subject ?? resource.patient) as { reference?: unknown } | undefined)
    ?.reference;
  if (typeof reference !== 'string') return null;
  const match = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  return match ? match[1] : null;
}

/** The features of a clinical resource, or null for a type that is not a clinical fact. */
export function featuresOf(resource: Json): FactFeatures | null {
  const kind = KIND_OF_TYPE[resource.resourceType as string];
  if (!kind) return null;
  const concepts = conceptsOf(resource);
  const codes = [...new Set(concepts.flatMap(codesOf))].sort();
  return {
    kind,
    codes,
    codingLists: concepts.map(codingCodes).filter((list) => list.length > 1),
    time: timeOf(resource),
    value: kind === 'Observation' ? observationValueOf(resource) : null,
    detail: detailOf(resource),
    status: typeof resource.status === 'string' ? resource.status : null,
  };
}

function conceptsOf(resource: Json): CodeableConcept[] {
  switch (resource.resourceType) {
    case 'MedicationRequest':
    case 'MedicationStatement':
      return resource.medicationCodeableConcept
        ? [resource.medicationCodeableConcept as CodeableConcept]
        : [];
    case 'Immunization':
      return resource.vaccineCode ? [resource.vaccineCode as CodeableConcept] : [];
    case 'Encounter':
      return (resource.type as CodeableConcept[] | undefined) ?? [];
    default:
      return resource.code ? [resource.code as CodeableConcept] : [];
  }
}

function codingCodes(concept: CodeableConcept): string[] {
  return (concept.coding ?? [])
    .filter((c) => typeof c.code === 'string' && c.code !== '')
    .map((c) => `${c.system ?? ''}|${c.code}`);
}

function codesOf(concept: CodeableConcept): string[] {
  const codes = codingCodes(concept);
  if (codes.length > 0) return codes;
  return concept.text ? [`text|${normalizeText(concept.text)}`] : [];
}

const TIME_PATHS: Readonly<Record<string, readonly string[]>> = {
  Condition: ['onsetDateTime', 'onsetPeriod.start', 'recordedDate'],
  AllergyIntolerance: ['onsetDateTime', 'onsetPeriod.start', 'recordedDate'],
  MedicationRequest: ['authoredOn'],
  MedicationStatement: ['effectiveDateTime', 'effectivePeriod.start', 'dateAsserted'],
  Immunization: ['occurrenceDateTime'],
  Procedure: ['performedDateTime', 'performedPeriod.start'],
  Observation: ['effectiveDateTime', 'effectiveInstant', 'effectivePeriod.start', 'issued'],
  DiagnosticReport: ['effectiveDateTime', 'effectivePeriod.start', 'issued'],
  Encounter: ['period.start'],
};

/** The first of the type's time elements present, as ms since the epoch (a partial date: its start). */
export function timeOf(resource: Json): number | null {
  for (const path of TIME_PATHS[resource.resourceType as string] ?? []) {
    const value = path.split('.').reduce<unknown>((v, key) => (v as Json | undefined)?.[key], resource);
    if (typeof value !== 'string') continue;
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  return null;
}

const ucum = UcumLhcUtils.getInstance();

/**
 * A quantity in UCUM base units (@lhncbc/ucum-lhc: 70.5 kg and 70500 g are both 70500 g; mg/dL and g/L meet),
 * rounded to 12 significant digits; a unit UCUM does not know, or a dimensionless one ({score}, %), is kept as
 * written so that annotations are not confused.
 */
export function quantityOf(quantity: Quantity): FactValue | null {
  if (quantity.value === undefined || quantity.value === null) return null;
  const value = Number(String(quantity.value));
  if (!Number.isFinite(value)) return null;
  const unit = quantity.code ?? quantity.unit ?? '';
  const base = unit === '' ? undefined : ucum.convertToBaseUnits(unit, value);
  const dimensions = Object.entries(base?.unitToExp ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (base?.status !== 'succeeded' || base.magnitude === undefined || dimensions.length === 0)
    return { kind: 'quantity', value, unit };
  return {
    kind: 'quantity',
    value: Number(base.magnitude.toPrecision(12)),
    unit: dimensions.map(([u, exp]) => `${u}${exp}`).join('.'),
  };
}

function valueOf(element: Json): FactValue | null {
  if (element.valueQuantity) return quantityOf(element.valueQuantity as Quantity);
  if (element.valueCodeableConcept) {
    const codes = codesOf(element.valueCodeableConcept as CodeableConcept).sort();
    return codes.length > 0 ? { kind: 'codes', codes } : null;
  }
  for (const key of ['valueString', 'valueBoolean', 'valueInteger', 'valueDateTime', 'valueTime']) {
    const value = element[key];
    if (value !== undefined) return { kind: 'text', text: normalizeText(String(value)) };
  }
  return null;
}

function observationValueOf(resource: Json): FactValue | null {
  const own = valueOf(resource);
  if (own) return own;
  const components = (resource.component as Json[] | undefined) ?? [];
  if (components.length === 0) return null;
  return {
    kind: 'components',
    parts: components
      .map((c) => ({ codes: codesOf((c.code as CodeableConcept) ?? {}).sort(), value: valueOf(c) }))
      .sort((a, b) => a.codes.join().localeCompare(b.codes.join())),
  };
}

function detailOf(resource: Json): string | null {
  const forms = resource.presentedForm as { data?: string }[] | undefined;
  if (forms?.[0]?.data) return `form:${forms[0].data.length}:${forms[0].data.slice(0, 64)}`;
  if (typeof resource.conclusion === 'string') return `conclusion:${normalizeText(resource.conclusion)}`;
  const reasons = resource.reasonCode as CodeableConcept[] | undefined;
  if (reasons?.length) return `reason:${reasons.flatMap(codesOf).sort().join(',')}`;
  return null;
}

function normalizeText(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}
