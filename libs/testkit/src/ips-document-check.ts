import type { Bundle, Composition, Extension } from 'fhir/r4';

/** The IPS sections a summary must always have: problems, allergies, medications. */
export const IPS_REQUIRED_SECTIONS = ['11450-4', '48765-2', '10160-0'];
const IPS_SECTION_CODES = new Set([...IPS_REQUIRED_SECTIONS, '11369-6', '30954-2', '8716-3', '47519-4']);

/**
 * What is wrong with an IPS document Bundle (empty when well-formed): a document Bundle with an identifier and
 * a timestamp, the Composition first (LOINC 60591-5, about the patient), the required sections, only IPS section
 * codes, each section with narrative and entries or an emptyReason, every section entry in the Bundle and every
 * Bundle entry (but the Patient) referenced from a section and naming its sources by `sourcesExtension`.
 */
export function ipsDocumentProblems(bundle: Bundle, patientId: string, sourcesExtension: string): string[] {
  const problems: string[] = [];
  if (bundle.resourceType !== 'Bundle' || bundle.type !== 'document') problems.push('not a document Bundle');
  if (!bundle.identifier?.value) problems.push('no Bundle.identifier');
  if (!bundle.timestamp) problems.push('no Bundle.timestamp');
  const [first, ...rest] = bundle.entry ?? [];
  const composition = first?.resource as Composition | undefined;
  if (composition?.resourceType !== 'Composition')
    return [...problems, 'the first entry is not a Composition'];
  if (composition.type?.coding?.[0]?.code !== '60591-5')
    problems.push('Composition.type is not LOINC 60591-5');
  if (composition.subject?.reference !== `Patient/${patientId}`)
    problems.push('Composition.subject is not the patient');
  const codes = (composition.section ?? []).map((s) => s.code?.coding?.[0]?.code ?? '');
  for (const code of IPS_REQUIRED_SECTIONS)
    if (!codes.includes(code)) problems.push(`section ${code} missing`);
  for (const code of codes)
    if (!IPS_SECTION_CODES.has(code)) problems.push(`section ${code} is not an IPS section`);
  const inBundle = new Set(rest.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
  if (!inBundle.has(`Patient/${patientId}`)) problems.push('the Patient is not in the Bundle');
  const referenced = new Set<string>();
  for (const section of composition.section ?? []) {
    if (!section.text?.div?.startsWith('<div xmlns="http://www.w3.org/1999/xhtml">'))
      problems.push(`section ${section.code?.coding?.[0]?.code} has no narrative`);
    if (!section.entry?.length && !section.emptyReason)
      problems.push(`section ${section.code?.coding?.[0]?.code} has neither entries nor an emptyReason`);
    for (const entry of section.entry ?? []) referenced.add(entry.reference ?? '');
  }
  for (const reference of referenced)
    if (!inBundle.has(reference)) problems.push(`${reference} is not in the Bundle`);
  for (const entry of rest) {
    const key = `${entry.resource?.resourceType}/${entry.resource?.id}`;
    if (key === `Patient/${patientId}`) continue;
    if (!referenced.has(key)) problems.push(`${key} is referenced from no section`);
    const named = ((entry.resource as { extension?: Extension[] }).extension ?? []).filter(
      (x) => x.url === sourcesExtension,
    );
    if (named.length === 0) problems.push(`${key} names no source`);
  }
  return problems;
}

/** Section items of an IPS document by section code. */
export function ipsSectionReferences(bundle: Bundle, code: string): string[] {
  const composition = bundle.entry?.[0]?.resource as Composition;
  return (composition.section?.find((s) => s.code?.coding?.[0]?.code === code)?.entry ?? []).map(
    (e) => e.reference ?? '',
  );
}
