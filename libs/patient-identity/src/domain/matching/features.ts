import type { Address, ContactPoint, Identifier, Patient } from 'fhir/r4';
import doubleMetaphone from 'talisman/phonetics/double-metaphone';
import { digitsOnly, foldName, foldText } from './text-normalization';

/**
 * A source's birth date text kept on `Patient._birthDate` when it is not a valid FHIR date (Febrl has
 * "19561309"): FHIR forbids such a `birthDate`, yet a corrupted date still carries most of its evidence.
 */
export const SOURCE_BIRTH_DATE_EXTENSION_URL =
  'http://example.org/fhir/StructureDefinition/source-birth-date';

export interface NameFeature {
  readonly name: string;
  /** Double Metaphone primary and alternate codes (deduplicated). */
  readonly phonetic: readonly string[];
}

export interface BirthDateFeature {
  /** YYYYMMDD, YYYYMM or YYYY digits as recorded, valid or not. */
  readonly digits: string;
  readonly year?: number;
  /** Present only when the full date is a real calendar date. */
  readonly month?: number;
  readonly day?: number;
}

export interface AddressFeature {
  readonly houseNumber?: string;
  /** Folded line text without the house number. */
  readonly street: string;
  readonly city?: string;
  readonly postalCode?: string;
  readonly state?: string;
}

/** Everything the comparators and blocking keys read, plain data so it can be stored beside a record. */
export interface MatchFeatures {
  readonly given: readonly NameFeature[];
  readonly family: readonly NameFeature[];
  readonly birthDate?: BirthDateFeature;
  readonly gender?: string;
  readonly addresses: readonly AddressFeature[];
  /** Last nine digits, which survive national/international prefix differences. */
  readonly phones: readonly string[];
  readonly emails: readonly string[];
  /** `system|value`, value without spaces or hyphens, upper-cased. */
  readonly identifiers: readonly string[];
}

const PHONE_SIGNIFICANT_DIGITS = 9;
const MIN_PHONE_DIGITS = 7;
const HOUSE_NUMBER = /^\d+[a-z]?$/;

export function matchFeaturesOf(patient: Patient): MatchFeatures {
  const names = patient.name ?? [];
  return {
    given: uniqueNames(names.flatMap((name) => name.given ?? [])),
    family: uniqueNames(names.map((name) => name.family)),
    birthDate: birthDateFeatureOf(patient),
    gender: patient.gender && patient.gender !== 'unknown' ? patient.gender : undefined,
    addresses: (patient.address ?? []).map(addressFeatureOf).filter(isInformativeAddress),
    phones: unique((patient.telecom ?? []).filter(isPhone).map(phoneOf).filter(isPresent)),
    emails: unique((patient.telecom ?? []).filter(isEmail).map(emailOf).filter(isPresent)),
    identifiers: unique((patient.identifier ?? []).map(identifierKeyOf).filter(isPresent)),
  };
}

export function nameFeatureOf(raw: string): NameFeature | undefined {
  const name = foldName(raw);
  if (!name) return undefined;
  const [primary, alternate] = doubleMetaphone(name);
  return { name, phonetic: unique([primary, alternate].filter((code) => code.length > 0)) };
}

/** Reads `birthDate`, falling back to the source text extension for dates FHIR could not carry. */
export function birthDateFeatureOf(patient: Patient): BirthDateFeature | undefined {
  const sourceText = patient._birthDate?.extension?.find(
    (extension) => extension.url === SOURCE_BIRTH_DATE_EXTENSION_URL,
  )?.valueString;
  const digits = digitsOnly(patient.birthDate ?? sourceText);
  return digits.length >= 4 ? birthDateFeatureFromDigits(digits) : undefined;
}

export function birthDateFeatureFromDigits(digits: string): BirthDateFeature {
  const year = Number(digits.slice(0, 4));
  if (digits.length !== 8) return { digits, year };
  const month = Number(digits.slice(4, 6));
  const day = Number(digits.slice(6, 8));
  return isCalendarDate(year, month, day) ? { digits, year, month, day } : { digits, year };
}

export function isCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function addressFeatureOf(address: Address): AddressFeature {
  const tokens = foldText((address.line ?? []).join(' ')).split(' ');
  const houseNumber = HOUSE_NUMBER.test(tokens[0]) ? tokens.shift() : undefined;
  return {
    houseNumber,
    street: tokens.join(' '),
    city: foldText(address.city) || undefined,
    postalCode: foldText(address.postalCode).replace(/ /g, '') || undefined,
    state: foldText(address.state) || undefined,
  };
}

function isInformativeAddress(address: AddressFeature): boolean {
  return Boolean(address.street || address.city || address.postalCode || address.houseNumber);
}

const isPhone = (point: ContactPoint) => point.system === 'phone' || point.system === 'sms';
const isEmail = (point: ContactPoint) => point.system === 'email';

function phoneOf(point: ContactPoint): string | undefined {
  const digits = digitsOnly(point.value);
  return digits.length >= MIN_PHONE_DIGITS ? digits.slice(-PHONE_SIGNIFICANT_DIGITS) : undefined;
}

function emailOf(point: ContactPoint): string | undefined {
  const email = point.value?.trim().toLowerCase();
  return email && email.includes('@') ? email : undefined;
}

/** Identifiers without a system are skipped: the same value in two unknown systems proves nothing. */
function identifierKeyOf(identifier: Identifier): string | undefined {
  const value = identifier.value?.replace(/[\s-]+/g, '').toUpperCase();
  return identifier.system && value ? `${identifier.system}|${value}` : undefined;
}

function uniqueNames(raw: readonly (string | undefined)[]): NameFeature[] {
  const seen = new Set<string>();
  const names: NameFeature[] = [];
  for (const value of raw) {
    const feature = value ? nameFeatureOf(value) : undefined;
    if (feature && !seen.has(feature.name)) {
      seen.add(feature.name);
      names.push(feature);
    }
  }
  return names;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function isPresent<T>(value: T | undefined): value is T {
  return value !== undefined;
}
