import type { Patient } from 'fhir/r4';
import { buildGoldenPatient, FIELD_SOURCE_EXTENSION, survivorshipPolicyOf } from './survivorship';

const member = (id: string, source: string, recordedAt: string, patient: Partial<Patient>) => ({
  sourcePatientId: id,
  source,
  recordedAt: new Date(recordedAt),
  patient: { resourceType: 'Patient' as const, id, ...patient },
});

describe('buildGoldenPatient', () => {
  const members = [
    member('a', 'clinic', '2024-01-01T00:00:00Z', {
      name: [{ family: 'Old' }],
      birthDate: '1970-01-02',
      identifier: [{ system: 's', value: '1' }],
    }),
    member('b', 'registry', '2024-06-01T00:00:00Z', {
      name: [{ family: 'New', given: ['Ann'] }],
      birthDate: '1970-02-01',
      identifier: [{ system: 's', value: '2' }],
    }),
  ];
  const sourceOf = (patient: Patient, field: string) =>
    patient.extension!.find((e) => e.url === FIELD_SOURCE_EXTENSION && e.extension![0].valueString === field)!
      .extension![2].valueReference!.reference;

  it('takes each field by its rule, unions identifiers, links every member and names each field source', () => {
    const golden = buildGoldenPatient('g', members, survivorshipPolicyOf({ trustedSources: ['clinic'] }));
    expect(golden.name).toEqual([{ family: 'New', given: ['Ann'] }]);
    expect(sourceOf(golden, 'name')).toBe('Patient/b');
    expect(golden.birthDate).toBe('1970-01-02');
    expect(sourceOf(golden, 'birthDate')).toBe('Patient/a');
    expect(golden.identifier).toHaveLength(2);
    expect(golden.link!.map((l) => l.other.reference)).toEqual(['Patient/a', 'Patient/b']);
    expect(golden.meta!.tag).toContainEqual(expect.objectContaining({ code: 'GOLDEN_RECORD' }));
  });

  it('rejects a survivorship configuration naming an unknown field or rule', () => {
    expect(() => survivorshipPolicyOf({ rules: { name: 'loudest' } })).toThrow(/name: loudest/);
  });
});
