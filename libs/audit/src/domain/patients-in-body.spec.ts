import { patientsInBody } from './patients-in-body';

describe('patientsInBody', () => {
  it('finds Patient resources and subject/patient references in a Bundle, once each, sorted', () => {
    const bundle = {
      resourceType: 'Bundle',
      entry: [
        { resource: { resourceType: 'Patient', id: 'b' } },
        { resource: { resourceType: 'Observation', id: 'o1', subject: { reference: 'Patient/a' } } },
        {
          resource: {
            resourceType: 'Claim',
            id: 'c1',
            patient: { reference: 'http://x/fhir/Patient/b/_history/2' },
          },
        },
        {
          resource: { resourceType: 'Encounter', id: 'e1', serviceProvider: { reference: 'Organization/o' } },
        },
        { resource: { resourceType: 'Observation', id: 'o2', subject: { reference: 'Group/g' } } },
      ],
    };
    expect(patientsInBody(JSON.stringify(bundle), 'application/fhir+json; charset=utf-8')).toEqual([
      'Patient/a',
      'Patient/b',
    ]);
  });

  it('reads NDJSON line by line and scans other text for Patient references', () => {
    const ndjson = [
      '{"resourceType":"Patient","id":"x"}',
      '{"resourceType":"Observation","subject":{"reference":"Patient/y"}}',
    ].join('\n');
    expect(patientsInBody(ndjson, 'application/fhir+ndjson')).toEqual(['Patient/x', 'Patient/y']);
    expect(patientsInBody('id,subject\n1,Patient/z\n2,NotPatient/q\n', 'text/csv')).toEqual(['Patient/z']);
  });

  it('finds none in an OperationOutcome or an empty body', () => {
    expect(patientsInBody('{"resourceType":"OperationOutcome","issue":[]}', 'application/fhir+json')).toEqual(
      [],
    );
    expect(patientsInBody('', undefined)).toEqual([]);
  });
});
