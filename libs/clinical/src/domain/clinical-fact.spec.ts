import { featuresOf, quantityOf, subjectOf } from './clinical-fact';
import { valuesEqual } from './fact-rules';

describe('clinical fact features', () => {
  it('takes each type its clinically relevant time, its main concept and its patient', () => {
    const condition = featuresOf({
      resourceType: 'Condition',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
      recordedDate: '2019-03-01',
      subject: { reference: 'Patient/p1' },
    })!;
    expect(condition).toMatchObject({ kind: 'Condition', codes: ['http://snomed.info/sct|44054006'] });
    expect(condition.time).toBe(Date.parse('2019-03-01'));
    const immunization = {
      resourceType: 'Immunization',
      vaccineCode: { text: 'Flu' },
      occurrenceDateTime: '2019-10-01T09:00:00Z',
      patient: { reference: 'Patient/p2' },
    };
    expect(featuresOf(immunization)).toMatchObject({
      kind: 'Immunization',
      codes: ['text|flu'],
      time: Date.parse('2019-10-01T09:00:00Z'),
    });
    expect(subjectOf(immunization)).toBe('p2');
    const encounter = featuresOf({
      resourceType: 'Encounter',
      type: [
        { coding: [{ system: 's', code: 'b' }] },
        {
          coding: [
            { system: 's', code: 'a' },
            { system: 'l', code: 'x' },
          ],
        },
      ],
      period: { start: '2020-01-01T08:00:00+01:00' },
    })!;
    expect(encounter.codes).toEqual(['l|x', 's|a', 's|b']);
    expect(encounter.codingLists).toEqual([['s|a', 'l|x']]);
    expect(encounter.time).toBe(Date.parse('2020-01-01T07:00:00Z'));
    expect(
      featuresOf({ resourceType: 'MedicationStatement', status: 'active', dateAsserted: '2020-02-02' }),
    ).toMatchObject({ kind: 'Medication', codes: [] });
    expect(featuresOf({ resourceType: 'Claim' })).toBeNull();
  });

  it('compares quantities in UCUM base units and components part by part', () => {
    expect(
      valuesEqual(
        quantityOf({ value: 100, code: 'mg/dL' }),
        quantityOf({ value: 1, code: 'g/L' }),
        new Map(),
      ),
    ).toBe(true);
    expect(
      valuesEqual(quantityOf({ value: 3, code: '{score}' }), quantityOf({ value: 3, code: '%' }), new Map()),
    ).toBe(false);
    const pressure = (systolic: number) =>
      featuresOf({
        resourceType: 'Observation',
        code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
        effectiveDateTime: '2020-01-01T10:00:00Z',
        component: [
          {
            code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
            valueQuantity: { value: systolic, code: 'mm[Hg]' },
          },
          {
            code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
            valueQuantity: { value: 80, code: 'mm[Hg]' },
          },
        ],
      })!.value;
    expect(valuesEqual(pressure(120), pressure(120), new Map())).toBe(true);
    expect(valuesEqual(pressure(120), pressure(125), new Map())).toBe(false);
  });
});
