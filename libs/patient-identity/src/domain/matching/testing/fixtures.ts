import type { Patient } from 'fhir/r4';
import type { FieldComparator } from '../comparators';
import { matchFeaturesOf, type MatchFeatures } from '../features';
import type { FellegiSunterParameters } from '../fellegi-sunter';

/** Test data only: a Patient from the fields a matcher test cares about. */
export function patient(fields: {
  id?: string;
  given?: string;
  family?: string;
  birthDate?: string;
  city?: string;
  postalCode?: string;
  line?: string[];
  ssn?: string;
  email?: string;
}): Patient {
  return {
    resourceType: 'Patient',
    id: fields.id,
    name: [{ family: fields.family, given: fields.given ? [fields.given] : undefined }],
    birthDate: fields.birthDate,
    address: [{ line: fields.line, city: fields.city, postalCode: fields.postalCode }],
    identifier: fields.ssn ? [{ system: 'urn:ssn', value: fields.ssn }] : undefined,
    telecom: fields.email ? [{ system: 'email', value: fields.email }] : undefined,
  };
}

export function features(fields: Parameters<typeof patient>[0]): MatchFeatures {
  return matchFeaturesOf(patient(fields));
}

/**
 * Hand-set parameters for tests of decision logic: agreement at any level but the last is 100× more likely
 * for matches (+6.6 bits), disagreement about 10× less (-3.3 bits); with the default prior (-10 bits) two
 * agreeing fields make a possible match and three a match. Not a model anyone should deploy.
 */
export function illustrativeParameters(
  comparators: readonly FieldComparator[],
  priorMatchProbability = 0.001,
): FellegiSunterParameters {
  return {
    priorMatchProbability,
    fields: comparators.map(({ field, levels }) => {
      const agreeing = levels.length - 1;
      return {
        field,
        levels,
        m: levels.map((_, level) => (level < agreeing ? 0.9 / agreeing : 0.1)),
        u: levels.map((_, level) => (level < agreeing ? 0.009 / agreeing : 0.991)),
      };
    }),
  };
}

/** One Febrl-style person, as the specs' reference record. */
export const HARLEY = {
  given: 'harley',
  family: 'mccarthy',
  birthDate: '1908-04-19',
  city: 'marsden',
  postalCode: '3165',
  ssn: '6089216',
};
