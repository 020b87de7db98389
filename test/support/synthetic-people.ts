import type { Patient } from 'fhir/r4';
import { seededRandom } from '@fa/patient-identity';

/**
 * Deterministic multi-source patient generator for identity tests: the same people as several source systems
 * would record them, with the corruption real feeds show (typos, nicknames, swapped day and month, a move, a
 * missing identifier). Each person's records share `truth`, which the tests compare links with.
 */
export interface SyntheticRecord {
  source: string;
  patient: Patient;
  truth: string;
}

const GIVEN = [
  'William',
  'Elizabeth',
  'Robert',
  'Katherine',
  'Michael',
  'Margaret',
  'Thomas',
  'Jennifer',
  'James',
  'Patricia',
];
const NICK: Record<string, string> = {
  William: 'Bill',
  Elizabeth: 'Liz',
  Robert: 'Bob',
  Katherine: 'Kate',
  Michael: 'Mike',
  Margaret: 'Peggy',
  Thomas: 'Tom',
  Jennifer: 'Jenny',
  James: 'Jim',
  Patricia: 'Pat',
  Richard: 'Dick',
  Susan: 'Sue',
  Joseph: 'Joe',
  Deborah: 'Debbie',
  Charles: 'Chuck',
  Barbara: 'Barb',
  Daniel: 'Dan',
  Rebecca: 'Becky',
  Matthew: 'Matt',
  Victoria: 'Vicky',
};
const FAMILY = [
  'Anderson',
  'Okafor',
  'Nguyen',
  'Schmidt',
  'Kowalski',
  'Fernandez',
  'Haddad',
  'Lindqvist',
  'Moreau',
  'Tanaka',
  'Brennan',
  'Castillo',
];
const STREETS = ['Oak Street', 'Maple Avenue', 'Harbour Road', 'Hill Crescent', 'Station Lane', 'Mill Road'];
const CITIES = ['Springfield', 'Riverton', 'Lakeside', 'Fairview', 'Greenville'];

function typo(value: string, next: () => number): string {
  const i = 1 + Math.floor(next() * (value.length - 2));
  return value.slice(0, i) + value[i + 1] + value[i] + value.slice(i + 2);
}

export function syntheticPeople(options: {
  people: number;
  sources: string[];
  seed: number;
}): SyntheticRecord[] {
  const next = seededRandom(options.seed);
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)];
  const records: SyntheticRecord[] = [];
  for (let person = 0; person < options.people; person++) {
    const given = GIVEN[person % GIVEN.length];
    const family =
      FAMILY[Math.floor(person / GIVEN.length) % FAMILY.length] +
      (person >= GIVEN.length * FAMILY.length ? `-${person}` : '');
    const year = 1940 + Math.floor(next() * 60);
    const month = 1 + Math.floor(next() * 12);
    const day = 1 + Math.floor(next() * 12); // ≤ 12 so a swapped day and month is still a date
    // Random, not sequential: consecutive numbers look like one-digit typos of each other.
    const mrn = `MRN${String(Math.floor(next() * 1e9)).padStart(9, '0')}`;
    const phone = `555-${String(1000 + Math.floor(next() * 9000))}`;
    const street = `${1 + Math.floor(next() * 200)} ${pick(STREETS)}`;
    const city = pick(CITIES);
    const postcode = String(10000 + Math.floor(next() * 89999));
    const gender = person % 2 === 0 ? 'male' : 'female';
    options.sources.forEach((source, s) => {
      const variant =
        s === 0 ? 'clean' : pick(['nickname', 'typo', 'swapped-date', 'moved', 'no-identifier']);
      const [y, m, d] = variant === 'swapped-date' ? [year, day, month] : [year, month, day];
      const patient: Patient = {
        resourceType: 'Patient',
        id: `${source}-p${person}`,
        meta: { lastUpdated: '2024-01-01T00:00:00Z' },
        identifier:
          variant === 'no-identifier' ? [] : [{ system: 'http://example.org/national-id', value: mrn }],
        name: [
          {
            family: variant === 'typo' ? typo(family, next) : family,
            given: [variant === 'nickname' ? NICK[given] : given],
          },
        ],
        gender,
        birthDate: `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
        telecom: [{ system: 'phone', value: phone }],
        address: [
          variant === 'moved'
            ? {
                line: [`${1 + Math.floor(next() * 200)} ${pick(STREETS)}`],
                city: pick(CITIES),
                postalCode: String(10000 + Math.floor(next() * 89999)),
              }
            : { line: [street], city, postalCode: postcode },
        ],
      };
      records.push({ source, patient, truth: `person-${person}` });
    });
  }
  return records;
}
