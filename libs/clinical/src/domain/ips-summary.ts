import type { Bundle, BundleEntry, Composition, CompositionSection, Resource } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import type { FactEntry } from './clinical-record';
import { timeOf } from './clinical-fact';
import { CLINICAL_NAMESPACE } from './fact-matching-decider';

const LOINC = 'http://loinc.org';
type Json = Record<string, unknown>;

interface IpsSection {
  code: string;
  title: string;
  /** Required by the IPS profile: present even when empty (with an emptyReason). */
  required: boolean;
  /** Whether a resource is a current item of the section at instant `at`. */
  selects(resource: Json, at: number): boolean;
  /** Only the latest item per code (results, vital signs). */
  latestPerCode?: boolean;
}

const codeOf = (concept: unknown) =>
  ((concept as { coding?: { code?: string }[] } | undefined)?.coding ?? []).map((c) => c.code ?? '');
const hasCategory = (resource: Json, code: string) =>
  ((resource.category as unknown[] | undefined) ?? []).some((c) => codeOf(c).includes(code));
const notRefuted = (resource: Json) =>
  !codeOf(resource.verificationStatus).some((c) => c === 'entered-in-error' || c === 'refuted');
const ended = (value: unknown, at: number) => {
  const end = typeof value === 'string' ? Date.parse(value) : NaN;
  return !Number.isNaN(end) && end <= at;
};
const abated = (r: Json, at: number) =>
  ended(r.abatementDateTime, at) ||
  ended((r.abatementPeriod as Json | undefined)?.end, at) ||
  r.abatementString !== undefined;
const observationFinal = (r: Json) =>
  ['final', 'amended', 'corrected', 'preliminary'].includes(r.status as string);

/** The IPS sections, in the order of the IPS Composition, with what makes an item current in each. */
export const IPS_SECTIONS: readonly IpsSection[] = [
  {
    code: '11450-4',
    title: 'Problem list',
    required: true,
    selects: (r, at) =>
      r.resourceType === 'Condition' &&
      codeOf(r.clinicalStatus).some((c) => ['active', 'recurrence', 'relapse'].includes(c)) &&
      notRefuted(r) &&
      !abated(r, at),
  },
  {
    code: '48765-2',
    title: 'Allergies and intolerances',
    required: true,
    selects: (r) =>
      r.resourceType === 'AllergyIntolerance' &&
      (r.clinicalStatus === undefined || codeOf(r.clinicalStatus).includes('active')) &&
      notRefuted(r),
  },
  {
    code: '10160-0',
    title: 'Medication summary',
    required: true,
    selects: (r, at) =>
      (r.resourceType === 'MedicationRequest' &&
        ['active', 'on-hold'].includes(r.status as string) &&
        !ended(((r.dispenseRequest as Json | undefined)?.validityPeriod as Json | undefined)?.end, at)) ||
      (r.resourceType === 'MedicationStatement' &&
        ['active', 'intended', 'on-hold'].includes(r.status as string) &&
        !ended((r.effectivePeriod as Json | undefined)?.end, at)),
  },
  {
    code: '11369-6',
    title: 'History of immunizations',
    required: false,
    selects: (r, at) =>
      r.resourceType === 'Immunization' && r.status === 'completed' && !((timeOf(r) ?? 0) > at),
  },
  {
    code: '30954-2',
    title: 'Relevant diagnostic tests/laboratory data',
    required: false,
    latestPerCode: true,
    selects: (r) => r.resourceType === 'Observation' && hasCategory(r, 'laboratory') && observationFinal(r),
  },
  {
    code: '8716-3',
    title: 'Vital signs',
    required: false,
    latestPerCode: true,
    selects: (r) => r.resourceType === 'Observation' && hasCategory(r, 'vital-signs') && observationFinal(r),
  },
  {
    code: '47519-4',
    title: 'History of procedures',
    required: false,
    selects: (r) => r.resourceType === 'Procedure' && r.status === 'completed',
  },
];

/** The items of each section from a de-duplicated record, as of `at`. */
export function sectionItems(entries: readonly FactEntry[], at: Date): Map<IpsSection, FactEntry[]> {
  const items = new Map<IpsSection, FactEntry[]>();
  for (const section of IPS_SECTIONS) {
    let selected = entries.filter((e) => section.selects(e.resource as unknown as Json, at.getTime()));
    if (section.latestPerCode) {
      const latest = new Map<string, FactEntry>();
      for (const entry of selected) {
        const code = codeOf((entry.resource as unknown as Json).code)
          .sort()
          .join(',');
        const held = latest.get(code);
        if (
          !held ||
          (timeOf(entry.resource as unknown as Json) ?? 0) > (timeOf(held.resource as unknown as Json) ?? 0)
        )
          latest.set(code, entry);
      }
      selected = selected.filter(
        (e) =>
          latest.get(
            codeOf((e.resource as unknown as Json).code)
              .sort()
              .join(','),
          ) === e,
      );
    }
    items.set(section, selected);
  }
  return items;
}

const escapeXml = (text: string) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

function displayOf(resource: Resource): string {
  const r = resource as unknown as Json;
  const concept = (r.code ?? r.vaccineCode ?? r.medicationCodeableConcept) as
    { text?: string; coding?: { display?: string; code?: string }[] } | undefined;
  return (
    concept?.text ?? concept?.coding?.[0]?.display ?? concept?.coding?.[0]?.code ?? resource.resourceType
  );
}

/**
 * The International Patient Summary document of a patient as of `at`: a document Bundle whose first entry is the
 * Composition (one section per IPS section with its LOINC code; required sections present even when empty),
 * then the Patient, then every item each section references (de-duplicated facts, naming their sources).
 */
export function ipsDocument(options: {
  base: string;
  patient: Resource;
  entries: readonly FactEntry[];
  at: Date;
  asOf?: Date;
}): Bundle {
  const { base, patient, at } = options;
  const patientRef = `Patient/${patient.id}`;
  const id = uuidv5(
    `${patientRef}|${options.asOf?.toISOString() ?? 'now'}|${at.toISOString()}`,
    CLINICAL_NAMESPACE,
  );
  const items = sectionItems(options.entries, at);
  const sections: CompositionSection[] = [];
  const included = new Map<string, FactEntry>();
  for (const section of IPS_SECTIONS) {
    const list = items.get(section)!;
    if (list.length === 0 && !section.required) continue;
    for (const item of list) included.set(`${item.resourceType}/${item.id}`, item);
    sections.push({
      title: section.title,
      code: { coding: [{ system: LOINC, code: section.code, display: section.title }] },
      text: {
        status: 'generated',
        div:
          `<div xmlns="http://www.w3.org/1999/xhtml">` +
          (list.length === 0
            ? `No information available as of ${at.toISOString()}`
            : `<ul>${list.map((i) => `<li>${escapeXml(displayOf(i.resource))}</li>`).join('')}</ul>`) +
          `</div>`,
      },
      ...(list.length > 0
        ? { entry: list.map((i) => ({ reference: `${i.resourceType}/${i.id}` })) }
        : {
            emptyReason: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'unavailable' },
              ],
            },
          }),
    });
  }
  const composition: Composition = {
    resourceType: 'Composition',
    id,
    status: 'final',
    type: { coding: [{ system: LOINC, code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: patientRef },
    date: at.toISOString(),
    author: [{ display: 'fhir-aggregator' }],
    title: 'International Patient Summary',
    event: [
      {
        code: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActClass', code: 'PCPR' }] }],
        period: { end: at.toISOString() },
      },
    ],
    section: sections,
  };
  const entry: BundleEntry[] = [
    { fullUrl: `${base}/Composition/${id}`, resource: composition },
    { fullUrl: `${base}/${patientRef}`, resource: patient },
    ...[...included.values()].map((item) => ({
      fullUrl: `${base}/${item.resourceType}/${item.id}`,
      resource: item.resource,
    })),
  ];
  return {
    resourceType: 'Bundle',
    id,
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${id}` },
    type: 'document',
    timestamp: at.toISOString(),
    entry,
  };
}
