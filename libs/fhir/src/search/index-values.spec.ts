import { parseFhirJson } from '../fhir-json';
import { extractIndexValues } from './index-values';
import { expressionForType, r4SearchParameters } from './search-parameters';

const registry = r4SearchParameters();

describe('search parameter registry', () => {
  it('holds every indexable R4 parameter for every type, with common ones on each', () => {
    const patient = registry.parametersOf('Patient').map((p) => p.code);
    expect(patient).toEqual(
      expect.arrayContaining(['name', 'birthdate', 'identifier', 'general-practitioner', '_tag', '_source']),
    );
    expect(registry.get('Observation', 'code-value-quantity')?.components).toEqual([
      expect.objectContaining({ expression: 'code', definition: expect.objectContaining({ type: 'token' }) }),
      expect.objectContaining({
        expression: 'value.as(Quantity)',
        definition: expect.objectContaining({ type: 'quantity' }),
      }),
    ]);
    // MolecularSequence's variant coordinates read %resource: not evaluable per element, so not listed.
    expect(registry.get('MolecularSequence', 'chromosome-variant-coordinate')).toBeUndefined();
  });

  it('cuts multi-type expressions to the type and lifts resolve() filters into targets', () => {
    expect(
      expressionForType(
        'Observation.subject.where(resolve() is Patient) | Condition.subject',
        'Observation',
        ['Observation', 'Condition'],
      ),
    ).toEqual({ expression: 'Observation.subject', targets: ['Patient'] });
    expect(expressionForType('Resource.meta.tag', 'Patient', ['Resource'])).toEqual({
      expression: 'Patient.meta.tag',
      targets: [],
    });
  });
});

describe('extractIndexValues', () => {
  it('indexes composite tuples per element, :text of codes and references, and :of-type of identifiers', () => {
    const values = extractIndexValues(
      {
        resourceType: 'Observation',
        id: 'bp',
        code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure' }] },
        subject: { reference: 'Patient/p1', display: 'Ann Émile' },
        component: [
          {
            code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
            valueQuantity: { value: 120, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
          },
          {
            code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
            valueQuantity: { value: 80, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
          },
        ],
      },
      registry,
    );
    const tuples = values.composites
      .filter((c) => c.param === 'component-code-value-quantity')
      .map((c) => [c.parts[0].code, c.parts[1].value]);
    expect(tuples).toEqual([
      ['8480-6', '120'],
      ['8462-4', '80'],
    ]);
    expect(values.composites.filter((c) => c.param === 'code-value-quantity')).toEqual([]);
    expect(values.strings).toEqual(
      expect.arrayContaining([
        { param: 'code:text', normalized: 'blood pressure', exact: 'Blood pressure' },
        { param: 'subject:text', normalized: 'ann emile', exact: 'Ann Émile' },
      ]),
    );
    const patient = extractIndexValues(
      {
        resourceType: 'Patient',
        id: 'p',
        identifier: [
          {
            type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
            system: 'http://hospital',
            value: '42',
          },
        ],
      },
      registry,
    );
    expect(patient.tokens).toContainEqual({
      param: 'identifier:of-type',
      system: 'http://terminology.hl7.org/CodeSystem/v2-0203',
      code: 'MR|42',
    });
  });

  it('indexes what the official expressions select, per parameter type', () => {
    const values = extractIndexValues(
      {
        resourceType: 'Observation',
        id: 'o1',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }], text: 'Glucose' },
        subject: { reference: 'Patient/p1', identifier: { system: 'http://mrn', value: '7' } },
        performer: [{ reference: 'Practitioner?identifier=http://npi|1' }],
        effectivePeriod: { start: '2024-01-01', end: '2024-01-02T10:00:00Z' },
        valueQuantity: { value: 5.4, system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      },
      registry,
    );
    expect(values.tokens).toEqual(
      expect.arrayContaining([
        { param: 'code', system: 'http://loinc.org', code: '2345-7' },
        { param: 'status', system: null, code: 'final' },
        { param: 'subject:identifier', system: 'http://mrn', code: '7' },
      ]),
    );
    expect(values.references).toEqual(
      expect.arrayContaining([
        { param: 'subject', targetType: 'Patient', targetId: 'p1', raw: 'Patient/p1' },
        { param: 'patient', targetType: 'Patient', targetId: 'p1', raw: 'Patient/p1' },
        {
          param: 'performer',
          targetType: 'Practitioner',
          targetId: null,
          raw: 'Practitioner?identifier=http://npi|1',
        },
      ]),
    );
    expect(values.dates).toContainEqual({
      param: 'date',
      low: '2024-01-01T00:00:00.000Z',
      high: '2024-01-02T10:00:00.999Z',
    });
    expect(values.numbers).toContainEqual({
      param: 'value-quantity',
      value: '5.4',
      system: 'http://unitsofmeasure.org',
      code: 'mmol/L',
    });
  });

  it('keeps a Group subject out of the patient parameter (its resolve() filter targets Patient only)', () => {
    const values = extractIndexValues(
      { resourceType: 'Observation', subject: { reference: 'Group/g1' } },
      registry,
    );
    expect(values.references.map((r) => r.param)).toEqual(['subject']);
  });

  it('indexes each name part on its own, lower-cased without accents', () => {
    const values = extractIndexValues(
      { resourceType: 'Patient', name: [{ family: 'Ångström', given: ['Zoë'] }] },
      registry,
    );
    expect(values.strings.filter((s) => s.param === 'family')).toEqual([
      { param: 'family', normalized: 'angstrom', exact: 'Ångström' },
    ]);
    expect(
      values.strings
        .filter((s) => s.param === 'name')
        .map((s) => s.normalized)
        .sort(),
    ).toEqual(['angstrom', 'zoe']);
  });

  it('indexes numbers and quantities as written, through the member walk and through fhirpath.js', () => {
    const observation = parseFhirJson(
      '{"resourceType":"Observation","valueQuantity":{"value":1.50,"code":"mg"},' +
        '"component":[{"valueQuantity":{"value":66.899999999999991}}]}',
    ) as { resourceType: string };
    expect(
      extractIndexValues(observation, registry)
        .numbers.filter((n) => n.param === 'value-quantity' || n.param === 'component-value-quantity')
        .map((n) => n.value)
        .sort(),
    ).toEqual(['1.50', '66.899999999999991']);
    // prediction.probability[x] is a choice: fhirpath.js evaluates it.
    const risk = parseFhirJson(
      '{"resourceType":"RiskAssessment","status":"final","prediction":[{"probabilityDecimal":0.001530},{"probabilityDecimal":0.5}]}',
    ) as { resourceType: string };
    expect(
      extractIndexValues(risk, registry)
        .numbers.filter((n) => n.param === 'probability')
        .map((n) => n.value),
    ).toEqual(['0.001530', '0.5']);
  });
});
