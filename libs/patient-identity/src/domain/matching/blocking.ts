import type { MatchFeatures, NameFeature } from './features';

/**
 * Blocking keys: two records become candidates when they share any key. Several independent keys are used so
 * that a typo or a gap in one field (surname, birth date, postcode) still leaves another key in common, and
 * name keys are the same for given and family names so that swapped names meet.
 */
export function blockingKeysOf(features: MatchFeatures): string[] {
  const keys = new Set<string>();
  const year = features.birthDate?.year;
  const names = [...features.given, ...features.family];

  if (year !== undefined) {
    for (const name of names) for (const code of codesOf(name)) keys.add(`name-year:${code}:${year}`);
  }
  const [firstGiven, firstFamily] = [features.given[0], features.family[0]];
  if (firstGiven && firstFamily) {
    keys.add(`full-name:${[codeOf(firstGiven), codeOf(firstFamily)].sort().join(':')}`);
  }
  const birthDigits = features.birthDate?.digits;
  if (birthDigits?.length === 8) {
    keys.add(`birth-date:${birthDigits}`);
    // Day and month with a name survive a mistyped or misremembered year.
    for (const name of names) keys.add(`name-day-month:${codeOf(name)}:${birthDigits.slice(4)}`);
  }
  for (const identifier of features.identifiers) keys.add(`identifier:${identifier}`);
  for (const phone of features.phones) keys.add(`phone:${phone}`);
  for (const email of features.emails) {
    keys.add(`email:${email}`);
    keys.add(`email-user:${email.slice(0, email.indexOf('@'))}`);
  }
  for (const address of features.addresses) {
    if (address.city) for (const name of names) keys.add(`name-city:${codeOf(name)}:${address.city}`);
    if (!address.postalCode) continue;
    for (const name of names) keys.add(`postcode-initial:${address.postalCode}:${name.name[0]}`);
    // Same street in the same postcode reaches a record whose names and birth date are all corrupted.
    const street = address.street.replace(/ /g, '');
    if (street.length >= 3) keys.add(`postcode-street:${address.postalCode}:${street.slice(0, 3)}`);
  }
  return [...keys];
}

/** A name too short for Double Metaphone to code stands for itself. */
const codeOf = (name: NameFeature) => name.phonetic[0] ?? name.name;
const codesOf = (name: NameFeature) => (name.phonetic.length > 0 ? name.phonetic : [name.name]);

/**
 * Distinct index pairs (i < j) of records sharing a blocking key: the unlabeled pairs EM learns from.
 * Blocks larger than `maxBlockSize` are skipped, since a key that common separates nothing.
 */
export function blockedPairs(
  records: readonly MatchFeatures[],
  options: { maxBlockSize?: number } = {},
): [number, number][] {
  return pairsOfBlocks(records, blockingKeysOf, options.maxBlockSize ?? 500);
}

/** Distinct pairs of records sharing one key (a training session's), blocks over `maxBlockSize` skipped. */
export function pairsSharingKey(
  records: readonly MatchFeatures[],
  keyOf: (record: MatchFeatures) => string | undefined,
  maxBlockSize: number,
): [number, number][] {
  return pairsOfBlocks(
    records,
    (record) => {
      const key = keyOf(record);
      return key === undefined ? [] : [key];
    },
    maxBlockSize,
  );
}

function pairsOfBlocks(
  records: readonly MatchFeatures[],
  keysOf: (record: MatchFeatures) => readonly string[],
  maxBlockSize: number,
): [number, number][] {
  const blocks = new Map<string, number[]>();
  records.forEach((record, index) => {
    for (const key of keysOf(record)) {
      const block = blocks.get(key);
      if (block) block.push(index);
      else blocks.set(key, [index]);
    }
  });
  const seen = new Set<number>();
  const pairs: [number, number][] = [];
  for (const block of blocks.values()) {
    if (block.length < 2 || block.length > maxBlockSize) continue;
    for (let x = 0; x < block.length; x++) {
      for (let y = x + 1; y < block.length; y++) {
        const [i, j] = [block[x], block[y]];
        const id = i * records.length + j;
        if (!seen.has(id)) {
          seen.add(id);
          pairs.push([i, j]);
        }
      }
    }
  }
  return pairs;
}
