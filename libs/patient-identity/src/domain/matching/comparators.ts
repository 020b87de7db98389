import type { AddressFeature, BirthDateFeature, MatchFeatures, NameFeature } from './features';
import { englishNicknames, NicknameTable } from './nicknames';
import { jaroWinkler, sharesCode, withinEdits } from './similarity';
import { compactText, tokensOf } from './text-normalization';

/**
 * One field of the Fellegi–Sunter comparison vector. Levels run from strongest agreement to disagreement and
 * are mutually exclusive: the first level a pair satisfies is its level, so each gets its own m/u weight.
 */
export interface FieldComparator {
  readonly field: string;
  readonly levels: readonly string[];
  /** The level index, or null when either record lacks the field: absence is no evidence either way. */
  compare(a: MatchFeatures, b: MatchFeatures): number | null;
  /**
   * Fields whose exact agreement is weighed by how common the agreeing value is (term frequency, as Splink
   * does): the values of a record, and the value two records agree on exactly.
   */
  readonly terms?: {
    /** The level whose agreement the frequency weighs. */
    readonly level: number;
    valuesOf(record: MatchFeatures): readonly string[];
    agreeingValue(a: MatchFeatures, b: MatchFeatures): string | undefined;
  };
}

/** The first value both records hold exactly: the term whose frequency weighs an exact agreement. */
function nameTerms(
  namesOf: (record: MatchFeatures) => readonly NameFeature[],
  level = 0,
): NonNullable<FieldComparator['terms']> {
  return {
    level,
    valuesOf: (record) => namesOf(record).map((name) => name.name),
    agreeingValue(a, b) {
      const names = new Set(namesOf(b).map((name) => name.name));
      return namesOf(a).find((name) => names.has(name.name))?.name;
    },
  };
}

/** Levels of the best-agreeing pair of values, when a field may hold several (names, addresses, phones). */
function bestLevel<T>(
  as: readonly T[],
  bs: readonly T[],
  levelOf: (a: T, b: T) => number | null,
): number | null {
  let best: number | null = null;
  for (const a of as) {
    for (const b of bs) {
      const level = levelOf(a, b);
      if (level !== null && (best === null || level < best)) best = level;
      if (best === 0) return 0;
    }
  }
  return best;
}

const NAME_TYPO = 0.92;
const NAME_SIMILAR = 0.8;

function nameAgrees(a: NameFeature, b: NameFeature): boolean {
  return a.name === b.name || jaroWinkler(a.name, b.name) >= NAME_TYPO;
}

function crossAgrees(as: readonly NameFeature[], bs: readonly NameFeature[]): boolean {
  return as.some((a) => bs.some((b) => nameAgrees(a, b)));
}

/**
 * Given and family names exchanged: both crossings must agree, since one name that can be either a given
 * or a family name ("James") is common and proves nothing by itself.
 */
function namesSwapped(a: MatchFeatures, b: MatchFeatures): boolean {
  return crossAgrees(a.given, b.family) && crossAgrees(a.family, b.given);
}

export function givenNameComparator(nicknames: NicknameTable = englishNicknames): FieldComparator {
  const levels = ['exact', 'nickname', 'typo', 'swapped_names', 'phonetic', 'similar', 'different'];
  return {
    field: 'given_name',
    levels,
    terms: nameTerms((record) => record.given),
    compare(a, b) {
      if (a.given.length === 0 || b.given.length === 0) return null;
      const direct = bestLevel(a.given, b.given, (x, y) => {
        if (x.name === y.name) return 0;
        if (nicknames.areEquivalent(x.name, y.name)) return 1;
        const similarity = jaroWinkler(x.name, y.name);
        if (similarity >= NAME_TYPO) return 2;
        return null;
      });
      if (direct !== null) return direct;
      if (namesSwapped(a, b)) return 3;
      return bestLevel(a.given, b.given, (x, y) => phoneticOrSimilarLevel(x, y, 4));
    },
  };
}

/**
 * Swapped names are one corruption, not two agreements: the given-name field carries its weight, and the
 * family-name field stays silent (null) so the evidence is not counted twice.
 */
export function familyNameComparator(): FieldComparator {
  const levels = ['exact', 'typo', 'phonetic', 'similar', 'different'];
  return {
    field: 'family_name',
    levels,
    terms: nameTerms((record) => record.family),
    compare(a, b) {
      if (a.family.length === 0 || b.family.length === 0) return null;
      const direct = bestLevel(a.family, b.family, (x, y) => {
        if (x.name === y.name) return 0;
        return jaroWinkler(x.name, y.name) >= NAME_TYPO ? 1 : null;
      });
      if (direct !== null) return direct;
      if (namesSwapped(a, b)) return null;
      return bestLevel(a.family, b.family, (x, y) => phoneticOrSimilarLevel(x, y, 2));
    },
  };
}

/** `phonetic` then `similar` then `different`, numbered from `first`. */
function phoneticOrSimilarLevel(a: NameFeature, b: NameFeature, first: number): number {
  if (sharesCode(a.phonetic, b.phonetic)) return first;
  if (jaroWinkler(a.name, b.name) >= NAME_SIMILAR) return first + 1;
  return first + 2;
}

export function birthDateComparator(): FieldComparator {
  const levels = ['exact', 'day_month_transposed', 'one_edit', 'same_year', 'different'];
  return {
    field: 'birth_date',
    levels,
    compare(a, b) {
      return a.birthDate && b.birthDate ? birthDateLevel(a.birthDate, b.birthDate) : null;
    },
  };
}

function birthDateLevel(a: BirthDateFeature, b: BirthDateFeature): number {
  if (a.digits === b.digits) return 0;
  if (a.digits.length !== 8 || b.digits.length !== 8) return a.year === b.year ? 3 : 4;
  if (isDayMonthTransposition(a, b)) return 1;
  if (withinEdits(a.digits, b.digits, 1)) return 2;
  return a.year === b.year ? 3 : 4;
}

function isDayMonthTransposition(a: BirthDateFeature, b: BirthDateFeature): boolean {
  return a.year === b.year && a.month !== undefined && a.month === b.day && a.day === b.month;
}

export function genderComparator(): FieldComparator {
  return {
    field: 'gender',
    levels: ['exact', 'different'],
    compare: (a, b) => (a.gender && b.gender ? (a.gender === b.gender ? 0 : 1) : null),
  };
}

/**
 * Address as one field. Its parts (house number, street, city, postcode, state) are strongly correlated
 * among different people too (a household shares all of them), so scoring each part as independent
 * evidence would count one shared address several times over; the levels grade how close two addresses
 * are as a whole instead. Each pair of addresses is graded and the closest pair counts.
 */
export function addressComparator(): FieldComparator {
  return {
    field: 'address',
    levels: ['same_dwelling', 'same_street', 'same_locality', 'same_region', 'different'],
    compare: (a, b) => bestLevel(a.addresses, b.addresses, addressLevel),
  };
}

function addressLevel(a: AddressFeature, b: AddressFeature): number | null {
  const house = partLevel(a.houseNumber, b.houseNumber, (x, y) => (x === y ? 0 : 1));
  const street = partLevel(a.street, b.street, streetLevel);
  const city = partLevel(a.city, b.city, cityLevel);
  const postalCode = partLevel(a.postalCode, b.postalCode, (x, y) =>
    x === y ? 0 : withinEdits(x, y, 1) ? 1 : 2,
  );
  const state = partLevel(a.state, b.state, (x, y) => (x === y ? 0 : 1));
  if (house === null && street === null && city === null && postalCode === null && state === null)
    return null;

  // Unknown locality (neither city nor postcode on both sides) does not contradict a shared street.
  const locality =
    postalCode === null && city === null ? null : postalCode === 0 || (city !== null && city <= 1);
  const sameStreet = street !== null && street <= 1 && locality !== false;
  if (sameStreet && house === 0) return 0;
  if (sameStreet) return 1;
  if (locality === true) return 2;
  if (postalCode === 1 || city === 2 || state === 0) return 3;
  return 4;
}

function partLevel(
  a: string | undefined,
  b: string | undefined,
  levelOf: (a: string, b: string) => number,
): number | null {
  return a && b ? levelOf(a, b) : null;
}

/**
 * 0 exact, 1 close, 2 similar, 3 different. Lines are also compared with their words sorted, which catches
 * the common swap of the two address lines ("flt 68, woralul street").
 */
export function streetLevel(a: string, b: string): number {
  const [compactA, compactB] = [compactText(a), compactText(b)];
  if (compactA === compactB) return 0;
  const [sortedA, sortedB] = [sortedWords(a), sortedWords(b)];
  if (sortedA === sortedB) return 0;
  if (withinEdits(compactA, compactB, 2) || withinEdits(sortedA, sortedB, 2)) return 1;
  return Math.max(jaroWinkler(compactA, compactB), jaroWinkler(sortedA, sortedB)) >= 0.88 ? 2 : 3;
}

/** 0 exact, 1 close, 2 similar, 3 different; spaces are ignored ("gran ville"). */
export function cityLevel(a: string, b: string): number {
  const [compactA, compactB] = [compactText(a), compactText(b)];
  if (compactA === compactB) return 0;
  if (withinEdits(compactA, compactB, 1)) return 1;
  const similarity = jaroWinkler(compactA, compactB);
  if (similarity >= 0.92) return 1;
  return similarity >= 0.85 ? 2 : 3;
}

export function phoneComparator(): FieldComparator {
  return {
    field: 'phone',
    levels: ['exact', 'one_edit', 'different'],
    compare: (a, b) => bestLevel(a.phones, b.phones, (x, y) => (x === y ? 0 : withinEdits(x, y, 1) ? 1 : 2)),
  };
}

export function emailComparator(): FieldComparator {
  return {
    field: 'email',
    levels: ['exact', 'close', 'different'],
    compare: (a, b) => bestLevel(a.emails, b.emails, (x, y) => (x === y ? 0 : withinEdits(x, y, 2) ? 1 : 2)),
  };
}

/**
 * Identifiers agree or disagree only within one system; records with no system in common say nothing. Pass
 * `systems` to restrict the field to person-level identifiers (SSN, national id) and keep per-source record
 * numbers out: two different MRNs from one hospital are often the same person.
 */
export function identifierComparator(systems?: readonly string[]): FieldComparator {
  const allowed = systems ? new Set(systems) : undefined;
  const parsed = (keys: readonly string[]) =>
    keys.map(splitIdentifier).filter((id) => !allowed || allowed.has(id.system));
  return {
    field: 'identifier',
    levels: ['exact', 'one_edit', 'different'],
    compare(a, b) {
      return bestLevel(parsed(a.identifiers), parsed(b.identifiers), (x, y) => {
        if (x.system !== y.system) return null;
        return x.value === y.value ? 0 : withinEdits(x.value, y.value, 1) ? 1 : 2;
      });
    },
  };
}

export function splitIdentifier(key: string): { system: string; value: string } {
  const bar = key.indexOf('|');
  return { system: key.slice(0, bar), value: key.slice(bar + 1) };
}

/**
 * Family name, address and phone as one field. A household's members share all three, so among different
 * people they agree together far more often than independent fields would (the product of their u); scored
 * apart, one household would count three times and carry twins or siblings past the threshold. Graded jointly,
 * each combination gets the u it has among random pairs. A family name agreeing away from a shared home is
 * weighed by how common the name is (term frequency); at a shared home the home explains it.
 */
export function householdComparator(): FieldComparator {
  const [family, address, phone] = [familyNameComparator(), addressComparator(), phoneComparator()];
  const levels = [
    'same_family_same_home',
    'same_family_same_area',
    'same_family',
    'similar_family_same_home',
    'similar_family',
    'same_home',
    'same_area',
    'different',
  ];
  return {
    field: 'household',
    levels,
    terms: nameTerms((record) => record.family, 2),
    compare(a, b) {
      const familyLevel = family.compare(a, b);
      const [addressLevel, phoneLevel] = [address.compare(a, b), phone.compare(a, b)];
      if (familyLevel === null && addressLevel === null && phoneLevel === null) return null;
      // 0 same home (dwelling or phone), 1 same street or locality, 2 elsewhere or unknown.
      const home =
        addressLevel === 0 || phoneLevel === 0 ? 0 : addressLevel === 1 || addressLevel === 2 ? 1 : 2;
      if (familyLevel !== null && familyLevel <= 1) return home;
      if (familyLevel !== null && familyLevel <= 3) return home === 0 ? 3 : 4;
      return home + 5;
    },
  };
}

/** The default comparison vector: every field `matchFeaturesOf` extracts. */
export function defaultComparators(
  options: { nicknames?: NicknameTable; identifierSystems?: readonly string[] } = {},
): FieldComparator[] {
  return [
    givenNameComparator(options.nicknames),
    birthDateComparator(),
    genderComparator(),
    householdComparator(),
    emailComparator(),
    identifierComparator(options.identifierSystems),
  ];
}

function sortedWords(text: string): string {
  return tokensOf(text).sort().join('');
}
