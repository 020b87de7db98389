import type { Patient } from 'fhir/r4';
import { birthDateFeatureFromDigits, matchFeaturesOf, SOURCE_BIRTH_DATE_EXTENSION_URL } from './features';

describe('matchFeaturesOf', () => {
  const patient: Patient = {
    resourceType: 'Patient',
    name: [
      { family: 'McCarthy', given: ['Harley', 'J.'] },
      { use: 'maiden', family: "O'Neil" },
    ],
    birthDate: '1908-04-19',
    gender: 'male',
    address: [{ line: ['177 Pridham Street', 'Milton'], city: 'Marsden', postalCode: '3165', state: 'NSW' }],
    telecom: [
      { system: 'phone', value: '+61 2 9999 1234' },
      { system: 'email', value: ' Harley@Example.org ' },
      { system: 'phone', value: '12' },
    ],
    identifier: [{ system: 'http://example.org/febrl/ssn', value: '608 9216' }, { value: 'no-system' }],
  };

  it('normalises every field a comparator or blocking key reads', () => {
    const features = matchFeaturesOf(patient);
    expect(features.given.map((name) => name.name)).toEqual(['harley', 'j']);
    expect(features.family.map((name) => name.name)).toEqual(['mccarthy', 'oneil']);
    expect(features.family[0].phonetic.length).toBeGreaterThan(0);
    expect(features.birthDate).toEqual({ digits: '19080419', year: 1908, month: 4, day: 19 });
    expect(features.gender).toBe('male');
    expect(features.addresses).toEqual([
      {
        houseNumber: '177',
        street: 'pridham street milton',
        city: 'marsden',
        postalCode: '3165',
        state: 'nsw',
      },
    ]);
    expect(features.phones).toEqual(['299991234']);
    expect(features.emails).toEqual(['harley@example.org']);
    expect(features.identifiers).toEqual(['http://example.org/febrl/ssn|6089216']);
  });

  it('reads a birth date FHIR cannot carry from the source-text extension', () => {
    const features = matchFeaturesOf({
      resourceType: 'Patient',
      _birthDate: { extension: [{ url: SOURCE_BIRTH_DATE_EXTENSION_URL, valueString: '19561309' }] },
    });
    expect(features.birthDate).toEqual({ digits: '19561309', year: 1956 });
  });

  it('keeps partial dates and ignores unknown gender and empty records', () => {
    const features = matchFeaturesOf({ resourceType: 'Patient', birthDate: '1970-06', gender: 'unknown' });
    expect(features.birthDate).toEqual({ digits: '197006', year: 1970 });
    expect(features.gender).toBeUndefined();
    expect(matchFeaturesOf({ resourceType: 'Patient' })).toEqual({
      given: [],
      family: [],
      birthDate: undefined,
      gender: undefined,
      addresses: [],
      phones: [],
      emails: [],
      identifiers: [],
    });
  });

  it('checks calendar validity of eight-digit dates', () => {
    expect(birthDateFeatureFromDigits('20000229')).toMatchObject({ month: 2, day: 29 });
    expect(birthDateFeatureFromDigits('19000229')).toEqual({ digits: '19000229', year: 1900 });
  });
});
