import { patientsInBody, patientsInDocument } from './patients-in-body';

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
    expect(patientsInDocument(bundle)).toEqual(['Patient/a', 'Patient/b']);
  });

  it('finds in a document what it finds in the JSON text written from it (toJSON honoured as serializing does)', () => {
    const asWritten = { toJSON: () => ({ reference: 'Patient/w' }) };
    const document = {
      resourceType: 'Bundle',
      entry: [
        {
          resource: {
            resourceType: 'Observation',
            subject: asWritten,
            valueQuantity: { value: new Date(0) },
          },
        },
        { resource: { resourceType: 'Patient', id: 'p', extension: undefined } },
        { resource: { resourceType: 'Encounter', subject: { toJSON: () => 'Patient/hidden' } } },
      ],
    };
    const text = JSON.stringify(document);
    expect(patientsInDocument(document)).toEqual(patientsInBody(text, 'application/fhir+json'));
    expect(patientsInDocument(document)).toEqual(['Patient/p', 'Patient/w']);
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
