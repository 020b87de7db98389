import type { Address, ContactPoint, HumanName, Patient } from 'fhir/r4';
import { parse } from 'csv-parse/sync';
import { isCalendarDate, SOURCE_BIRTH_DATE_EXTENSION_URL } from '@fa/patient-identity';

/**
 * Public record-linkage benchmark files (Febrl dedup sets, Splink's fake_1000) as FHIR R4 Patients with their
 * ground truth, so the same Patients can go through the matcher or the real ingestion pipeline.
 */
export interface RecordLinkageDataset {
  readonly patients: Patient[];
  /** Patient id → true entity; two Patients are the same person when their keys are equal. */
  readonly truthClusterOf: Map<string, string>;
}

export const FEBRL_SSN_SYSTEM = 'http://example.org/febrl/ssn';

type CsvRow = Record<string, string>;

function rowsOf(csvText: string): CsvRow[] {
  // Febrl writes ", " between values: trimming is part of reading the format, not of matching.
  return parse(csvText, { columns: true, trim: true, skip_empty_lines: true }) as CsvRow[];
}

/** Febrl `rec-N-org` / `rec-N-dup-k`: N is the person. */
export function febrlDataset(csvText: string, idPrefix = ''): RecordLinkageDataset {
  const patients: Patient[] = [];
  const truthClusterOf = new Map<string, string>();
  for (const row of rowsOf(csvText)) {
    const id = `${idPrefix}${row.rec_id}`;
    const person = /^rec-(\d+)-/.exec(row.rec_id)?.[1];
    if (!person) throw new Error(`Febrl rec_id without a person number at row ${patients.length + 1}`);
    const line = [[row.street_number, row.address_1].filter(Boolean).join(' '), row.address_2].filter(
      Boolean,
    );
    patients.push({
      resourceType: 'Patient',
      id,
      ...nameOf(row.given_name, row.surname),
      ...birthDateOf(row.date_of_birth),
      ...addressOf({ line, city: row.suburb, postalCode: row.postcode, state: row.state }),
      ...(row.soc_sec_id ? { identifier: [{ system: FEBRL_SSN_SYSTEM, value: row.soc_sec_id }] } : {}),
    });
    truthClusterOf.set(id, person);
  }
  return { patients, truthClusterOf };
}

/** Splink's fake_1000: `cluster` is the person. */
export function fakeNamesDataset(csvText: string, idPrefix = 'fake-'): RecordLinkageDataset {
  const patients: Patient[] = [];
  const truthClusterOf = new Map<string, string>();
  for (const row of rowsOf(csvText)) {
    const id = `${idPrefix}${row.unique_id}`;
    const telecom: ContactPoint[] = row.email ? [{ system: 'email', value: row.email }] : [];
    patients.push({
      resourceType: 'Patient',
      id,
      ...nameOf(row.first_name, row.surname),
      ...birthDateOf(row.dob),
      ...addressOf({ line: [], city: row.city }),
      ...(telecom.length > 0 ? { telecom } : {}),
    });
    truthClusterOf.set(id, row.cluster);
  }
  return { patients, truthClusterOf };
}

function nameOf(given: string, family: string): { name?: HumanName[] } {
  if (!given && !family) return {};
  return { name: [{ ...(family ? { family } : {}), ...(given ? { given: [given] } : {}) }] };
}

/**
 * A valid date becomes `birthDate`; anything else (month 13, a digit dropped) stays as the source's text in an
 * extension on `_birthDate`, because a FHIR birthDate must be a real date but the typo is still evidence.
 */
function birthDateOf(raw: string): Pick<Patient, 'birthDate' | '_birthDate'> {
  if (!raw) return {};
  const digits = raw.replace(/\D/g, '');
  if (digits.length === 8) {
    const [year, month, day] = [digits.slice(0, 4), digits.slice(4, 6), digits.slice(6, 8)];
    if (isCalendarDate(Number(year), Number(month), Number(day)))
      return { birthDate: `${year}-${month}-${day}` };
  }
  return { _birthDate: { extension: [{ url: SOURCE_BIRTH_DATE_EXTENSION_URL, valueString: raw }] } };
}

function addressOf(parts: Omit<Address, 'line'> & { line: string[] }): { address?: Address[] } {
  const address: Address = {
    ...(parts.line.length > 0 ? { line: parts.line } : {}),
    ...(parts.city ? { city: parts.city } : {}),
    ...(parts.postalCode ? { postalCode: parts.postalCode } : {}),
    ...(parts.state ? { state: parts.state } : {}),
  };
  return Object.keys(address).length > 0 ? { address: [address] } : {};
}

/** A dataset whose every Patient names the source that recorded it. */
export interface TwoSourceDataset extends RecordLinkageDataset {
  readonly sourceOf: Map<string, string>;
}

/**
 * A deduplication set made link-only: each true cluster is split across two sources so neither holds a person
 * twice: its original (Febrl's `-org`, else its first record) goes to the first source, its second to the other, and any further
 * duplicates are left out.
 */
export function linkOnlySplit(
  dataset: RecordLinkageDataset,
  sources: readonly [string, string] = ['registry-a', 'registry-b'],
): TwoSourceDataset {
  const seen = new Map<string, number>();
  const patients: Patient[] = [];
  const truthClusterOf = new Map<string, string>();
  const sourceOf = new Map<string, string>();
  const originalsFirst = [...dataset.patients].sort(
    (a, b) => Number(!a.id!.endsWith('-org')) - Number(!b.id!.endsWith('-org')),
  );
  for (const patient of originalsFirst) {
    const truth = dataset.truthClusterOf.get(patient.id!)!;
    const rank = seen.get(truth) ?? 0;
    seen.set(truth, rank + 1);
    if (rank > 1) continue;
    patients.push(patient);
    truthClusterOf.set(patient.id!, truth);
    sourceOf.set(patient.id!, sources[rank]);
  }
  return { patients, truthClusterOf, sourceOf };
}
