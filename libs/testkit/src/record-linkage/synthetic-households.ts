import type { Patient } from 'fhir/r4';
import { seededRandom } from '@fa/patient-identity';
import type { RecordLinkageDataset } from './record-linkage-datasets';

/**
 * Synthetic people living in households, recorded once by each of two sources (link-only: no source holds a
 * person twice). Households are what fools a matcher: members share the family name, the address and the home
 * phone; spouses differ in given name and birth date; twins share the birth date too; a child may carry a
 * parent's given name (a "junior", 20-40 years younger). Family names follow a skewed distribution (a few very
 * common, a long tail of rare ones), so agreement on a common name must count for less than on a rare one.
 * Each source's copy is corrupted as real feeds are (typo, nickname, day and month swapped, a move, a missing
 * birth date or identifier); every person's records share the truth key.
 */
export interface SyntheticHouseholdOptions {
  readonly households: number;
  readonly seed: number;
  readonly sources?: readonly [string, string];
  /** Share of people recorded by one source only. */
  readonly unmatchedShare?: number;
}

export interface SyntheticHouseholdDataset extends RecordLinkageDataset {
  /** The source of each Patient id. */
  readonly sourceOf: Map<string, string>;
}

const GIVEN_MALE = [
  'james',
  'john',
  'robert',
  'michael',
  'william',
  'david',
  'richard',
  'joseph',
  'thomas',
  'charles',
  'daniel',
  'matthew',
  'anthony',
  'mark',
  'paul',
  'steven',
  'andrew',
  'kenneth',
  'joshua',
  'kevin',
  'brian',
  'george',
  'edward',
  'ronald',
  'timothy',
  'jason',
  'jeffrey',
  'ryan',
  'jacob',
  'gary',
  'oliver',
  'liam',
  'noah',
  'ethan',
  'lucas',
  'henry',
  'samuel',
  'benjamin',
  'alexander',
  'patrick',
];
const GIVEN_FEMALE = [
  'mary',
  'patricia',
  'jennifer',
  'linda',
  'elizabeth',
  'barbara',
  'susan',
  'jessica',
  'sarah',
  'karen',
  'nancy',
  'lisa',
  'margaret',
  'betty',
  'sandra',
  'ashley',
  'dorothy',
  'kimberly',
  'emily',
  'donna',
  'michelle',
  'carol',
  'amanda',
  'melissa',
  'deborah',
  'stephanie',
  'rebecca',
  'laura',
  'sharon',
  'cynthia',
  'olivia',
  'emma',
  'ava',
  'sophia',
  'isabella',
  'mia',
  'charlotte',
  'amelia',
  'harper',
  'evelyn',
];
const NICKNAMES: Record<string, string> = {
  james: 'jim',
  john: 'jack',
  robert: 'bob',
  michael: 'mike',
  william: 'bill',
  david: 'dave',
  richard: 'dick',
  joseph: 'joe',
  thomas: 'tom',
  charles: 'charlie',
  daniel: 'dan',
  matthew: 'matt',
  anthony: 'tony',
  andrew: 'andy',
  elizabeth: 'liz',
  margaret: 'peggy',
  patricia: 'pat',
  jennifer: 'jenny',
  susan: 'sue',
  deborah: 'debbie',
  rebecca: 'becky',
  barbara: 'barb',
  samuel: 'sam',
  benjamin: 'ben',
};
const COMMON_FAMILY = ['smith', 'jones', 'williams', 'brown', 'taylor', 'wilson', 'johnson', 'white'];
const SYLLABLES = [
  'ka',
  'lor',
  'mi',
  'den',
  'bro',
  'sta',
  'vel',
  'nor',
  'quin',
  'ta',
  'ris',
  'hol',
  'zen',
  'mar',
];
const STREETS = [
  'oak street',
  'maple avenue',
  'harbour road',
  'hill crescent',
  'station lane',
  'mill road',
  'king street',
  'queen street',
  'church road',
  'park avenue',
  'river drive',
  'elm close',
  'bay parade',
  'ridge way',
];
const CITIES = ['springfield', 'riverton', 'lakeside', 'fairview', 'greenville', 'kingston', 'bayview'];

interface Person {
  readonly truth: string;
  readonly given: string;
  readonly family: string;
  readonly gender: 'male' | 'female';
  readonly birth: [number, number, number];
  readonly nationalId: string;
}

export function syntheticHouseholds(options: SyntheticHouseholdOptions): SyntheticHouseholdDataset {
  const next = seededRandom(options.seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const int = (from: number, to: number) => from + Math.floor(next() * (to - from + 1));
  const [sourceA, sourceB] = options.sources ?? ['registry-a', 'registry-b'];
  const unmatchedShare = options.unmatchedShare ?? 0.2;
  const patients: Patient[] = [];
  const truthClusterOf = new Map<string, string>();
  const sourceOf = new Map<string, string>();
  const familyName = () =>
    next() < 0.35
      ? pick(COMMON_FAMILY)
      : Array.from({ length: int(2, 3) }, () => pick(SYLLABLES)).join('') + pick(['', 's', 'son', 'ley']);

  for (let h = 0; h < options.households; h++) {
    const family = familyName();
    const address = {
      line: [`${int(1, 300)} ${pick(STREETS)}`],
      city: pick(CITIES),
      postalCode: String(int(2000, 2999)),
    };
    const phone = `02 ${int(1000, 9999)} ${int(1000, 9999)}`;
    const members = householdMembers(h, family, next, pick, int);
    for (const person of members) {
      const inA = next() >= unmatchedShare / 2;
      const inB = !inA || next() >= unmatchedShare;
      const recorded: [string, boolean][] = [
        [sourceA, inA],
        [sourceB, inB],
      ];
      for (const [source, present] of recorded) {
        if (!present) continue;
        const corrupted = source === sourceB;
        const patient = recordOf(person, { address, phone }, corrupted, next, pick, int);
        patient.id = `${source}-${person.truth}`;
        patients.push(patient);
        truthClusterOf.set(patient.id, person.truth);
        sourceOf.set(patient.id, source);
      }
    }
  }
  return { patients, truthClusterOf, sourceOf };
}

/** One to five people: one or two adults (spouses share the family name most of the time), and children. */
function householdMembers(
  h: number,
  family: string,
  next: () => number,
  pick: <T>(list: readonly T[]) => T,
  int: (from: number, to: number) => number,
): Person[] {
  const members: Person[] = [];
  const person = (
    given: string,
    gender: 'male' | 'female',
    birth: [number, number, number],
    surname = family,
  ) => {
    const p: Person = {
      truth: `h${h}-m${members.length}`,
      given,
      family: surname,
      gender,
      birth,
      nationalId: String(int(100_000_000, 999_999_999)),
    };
    members.push(p);
    return p;
  };
  const date = (year: number): [number, number, number] => [year, int(1, 12), int(1, 28)];
  const adultYear = int(1940, 1995);
  const first = person(pick(GIVEN_MALE), 'male', date(adultYear));
  if (next() < 0.7) {
    const surname = next() < 0.85 ? family : `${family}${pick(SYLLABLES)}`;
    person(
      pick(GIVEN_FEMALE.filter((g) => g !== first.given)),
      'female',
      date(adultYear + int(-5, 5)),
      surname,
    );
  }
  const children = next() < 0.6 ? int(1, 3) : 0;
  const childYear = adultYear + int(22, 38);
  for (let c = 0; c < children; c++) {
    const gender = next() < 0.5 ? 'male' : 'female';
    const names = gender === 'male' ? GIVEN_MALE : GIVEN_FEMALE;
    const taken = new Set(members.map((m) => m.given));
    // A junior: the father's given name, a generation later.
    const given =
      c === 0 && gender === 'male' && next() < 0.2 ? first.given : pick(names.filter((g) => !taken.has(g)));
    person(given, gender, date(childYear + c * int(1, 4)));
  }
  // Twins: same family, address, phone and birth date; different given names.
  if (children > 0 && next() < 0.3) {
    const twinOf = members[members.length - 1];
    const gender = next() < 0.5 ? twinOf.gender : twinOf.gender === 'male' ? 'female' : 'male';
    const names = gender === 'male' ? GIVEN_MALE : GIVEN_FEMALE;
    const taken = new Set(members.map((m) => m.given));
    person(pick(names.filter((g) => !taken.has(g))), gender, twinOf.birth);
  }
  return members;
}

type Corruption = 'none' | 'typo' | 'nickname' | 'swapped-date' | 'moved' | 'no-birth-date' | 'no-identifier';

function recordOf(
  person: Person,
  home: { address: { line: string[]; city: string; postalCode: string }; phone: string },
  corrupted: boolean,
  next: () => number,
  pick: <T>(list: readonly T[]) => T,
  int: (from: number, to: number) => number,
): Patient {
  const corruption: Corruption = corrupted
    ? pick(['none', 'typo', 'nickname', 'swapped-date', 'moved', 'no-birth-date', 'no-identifier'] as const)
    : 'none';
  const [year, month, day] = person.birth;
  const [m, d] = corruption === 'swapped-date' && day <= 12 ? [day, month] : [month, day];
  const pad = (n: number) => String(n).padStart(2, '0');
  const given = corruption === 'nickname' && NICKNAMES[person.given] ? NICKNAMES[person.given] : person.given;
  const family = corruption === 'typo' ? transposed(person.family, next) : person.family;
  const address =
    corruption === 'moved'
      ? { line: [`${int(1, 300)} ${pick(STREETS)}`], city: pick(CITIES), postalCode: String(int(2000, 2999)) }
      : home.address;
  return {
    resourceType: 'Patient',
    identifier:
      corruption === 'no-identifier' || next() < 0.3
        ? []
        : [{ system: 'http://example.org/national-id', value: person.nationalId }],
    name: [{ family, given: [given] }],
    gender: person.gender,
    ...(corruption === 'no-birth-date' ? {} : { birthDate: `${year}-${pad(m)}-${pad(d)}` }),
    telecom: [{ system: 'phone', value: home.phone }],
    address: [address],
  };
}

function transposed(value: string, next: () => number): string {
  if (value.length < 4) return value;
  const i = 1 + Math.floor(next() * (value.length - 3));
  return value.slice(0, i) + value[i + 1] + value[i] + value.slice(i + 2);
}
