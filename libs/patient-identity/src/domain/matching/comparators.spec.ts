import {
  addressComparator,
  birthDateComparator,
  cityLevel,
  defaultComparators,
  emailComparator,
  familyNameComparator,
  type FieldComparator,
  genderComparator,
  givenNameComparator,
  identifierComparator,
  phoneComparator,
  splitIdentifier,
  streetLevel,
} from './comparators';
import { matchFeaturesOf } from './features';
import { features } from './testing/fixtures';

type Fields = Parameters<typeof features>[0];

function levelOf(comparator: FieldComparator, a: Fields, b: Fields): string | null {
  const level = comparator.compare(features(a), features(b));
  return level === null ? null : comparator.levels[level];
}

describe('givenNameComparator', () => {
  const given = givenNameComparator();
  it.each([
    [{ given: 'Robert' }, { given: 'robert' }, 'exact'],
    [{ given: 'Robert' }, { given: 'Bob' }, 'nickname'],
    [{ given: 'Isabelle' }, { given: 'Isabele' }, 'typo'],
    [{ given: 'Madeline', family: 'Mason' }, { given: 'Masno', family: 'Madeline' }, 'swapped_names'],
    [{ given: 'Philip' }, { given: 'Filip' }, 'phonetic'],
    [{ given: 'Sean' }, { given: 'Shaun' }, 'similar'],
    [{ given: 'Mitchell' }, { given: 'Harley' }, 'different'],
    [{ given: 'Mitchell' }, { family: 'Green' }, null],
  ])('%j vs %j is %s', (a, b, expected) => {
    expect(levelOf(given, a, b)).toBe(expected);
  });

  it('does not take one shared name that is both given and family for a swap', () => {
    expect(levelOf(given, { given: 'Isaac', family: 'James' }, { given: 'James', family: 'Dixon' })).toBe(
      'different',
    );
  });
});

describe('familyNameComparator', () => {
  const family = familyNameComparator();
  it('grades family names and stays silent on a swap the given name already counts', () => {
    expect(levelOf(family, { family: 'Green' }, { family: 'green' })).toBe('exact');
    expect(levelOf(family, { family: 'Harrington' }, { family: 'Harringtn' })).toBe('typo');
    expect(levelOf(family, { family: 'Smith' }, { family: 'Smyth' })).toBe('phonetic');
    expect(levelOf(family, { family: 'Green' }, { family: 'Mason' })).toBe('different');
    expect(
      levelOf(family, { given: 'Madeline', family: 'Mason' }, { given: 'Masno', family: 'Madeline' }),
    ).toBe(null);
  });
});

describe('birthDateComparator', () => {
  const birthDate = birthDateComparator();
  it.each([
    ['1956-04-09', '1956-04-09', 'exact'],
    ['1956-04-09', '1956-09-04', 'day_month_transposed'],
    ['1956-04-09', '1956-04-08', 'one_edit'],
    ['1956-04-09', '1956-11-23', 'same_year'],
    ['1956-04-09', '1970-01-01', 'different'],
    ['1956', '1956-04-09', 'same_year'],
  ])('%s vs %s is %s', (a, b, expected) => {
    expect(levelOf(birthDate, { birthDate: a }, { birthDate: b })).toBe(expected);
  });

  it('compares an invalid source date by its digits', () => {
    const typo = matchFeaturesOf({
      resourceType: 'Patient',
      _birthDate: {
        extension: [
          { url: 'http://example.org/fhir/StructureDefinition/source-birth-date', valueString: '19561409' },
        ],
      },
    });
    expect(birthDate.compare(typo, features({ birthDate: '1956-04-09' }))).toBe(2);
    expect(birthDate.compare(typo, features({}))).toBeNull();
  });
});

describe('addressComparator', () => {
  const address = addressComparator();
  const home = { line: ['10 woralul street', 'flt 68'], city: 'orford', postalCode: '2615' };
  it.each([
    [home, { line: ['10 flt 68', 'woralul street'], city: 'or ford', postalCode: '2651' }, 'same_dwelling'],
    [home, { line: ['12 woralul stret', 'flt 68'], postalCode: '2615' }, 'same_street'],
    [home, { line: ['10 woralul street', 'flt 68'] }, 'same_dwelling'],
    [home, { line: ['10 woralul street', 'flt 68'], city: 'marsden', postalCode: '3165' }, 'different'],
    [home, { line: ['7 wallaby place'], city: 'orford', postalCode: '2615' }, 'same_locality'],
    [home, { line: ['7 wallaby place'], postalCode: '2616' }, 'same_region'],
    [home, { city: 'marsden' }, 'different'],
    [home, {}, null],
  ])('%j vs %j is %s', (a, b, expected) => {
    expect(levelOf(address, a, b)).toBe(expected);
  });

  it('grades the closest of several addresses', () => {
    const moved = matchFeaturesOf({
      resourceType: 'Patient',
      address: [
        { city: 'marsden', postalCode: '3165' },
        { line: ['10 woralul street', 'flt 68'], postalCode: '2615' },
      ],
    });
    expect(address.levels[address.compare(moved, features(home)) as number]).toBe('same_dwelling');
  });

  it('grades street and city text', () => {
    expect(streetLevel('pridham street', 'pridhamp stret')).toBe(1);
    expect(streetLevel('pridham street', 'pridham streets milton')).toBe(2);
    expect(streetLevel('pridham street', 'wallaby place')).toBe(3);
    expect(cityLevel('marsden', 'marsdne')).toBe(1);
    expect(cityLevel('marsden', 'granville')).toBe(3);
  });
});

describe('telecom and identifier comparators', () => {
  it('grades e-mails and phones', () => {
    expect(
      levelOf(emailComparator(), { email: 'robert255@smith.net' }, { email: 'roberta25@smith.net' }),
    ).toBe('close');
    const phone = phoneComparator();
    const withPhone = (value: string) =>
      matchFeaturesOf({ resourceType: 'Patient', telecom: [{ system: 'phone', value }] });
    expect(
      phone.levels[phone.compare(withPhone('02 9999 1234'), withPhone('+61 2 9999 1234')) as number],
    ).toBe('exact');
  });

  it('compares identifiers only within one system', () => {
    const identifier = identifierComparator();
    expect(levelOf(identifier, { ssn: '6089216' }, { ssn: '6089216' })).toBe('exact');
    expect(levelOf(identifier, { ssn: '6089216' }, { ssn: '6098216' })).toBe('one_edit');
    expect(levelOf(identifier, { ssn: '6089216' }, { ssn: '1234567' })).toBe('different');
    const mrn = matchFeaturesOf({
      resourceType: 'Patient',
      identifier: [{ system: 'urn:mrn', value: '6089216' }],
    });
    expect(identifier.compare(features({ ssn: '6089216' }), mrn)).toBeNull();
    expect(
      identifierComparator(['urn:mrn']).compare(features({ ssn: '1' }), features({ ssn: '2' })),
    ).toBeNull();
    expect(splitIdentifier('urn:ssn|A|B')).toEqual({ system: 'urn:ssn', value: 'A|B' });
  });

  it('has nothing to say about gender when one side lacks it', () => {
    const male = matchFeaturesOf({ resourceType: 'Patient', gender: 'male' });
    const female = matchFeaturesOf({ resourceType: 'Patient', gender: 'female' });
    expect(genderComparator().compare(male, female)).toBe(1);
    expect(genderComparator().compare(male, features({}))).toBeNull();
  });
});

describe('defaultComparators', () => {
  it('has unique fields whose last level is disagreement', () => {
    const comparators = defaultComparators();
    expect(new Set(comparators.map((c) => c.field)).size).toBe(comparators.length);
    for (const comparator of comparators) expect(comparator.levels.at(-1)).toMatch(/different/);
  });
});
