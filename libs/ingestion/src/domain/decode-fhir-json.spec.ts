import { FhirDecimal, stringifyFhirJson } from '@fa/fhir';
import { decodeFhirJson } from './decode-fhir-json';

const origin = { file: { path: 'x.json', line: 3 } };

describe('decodeFhirJson', () => {
  it('rejects non-JSON and non-objects with specific codes', () => {
    expect(decodeFhirJson('{oops', origin)[0]).toMatchObject({ kind: 'rejected', code: 'not-json' });
    expect(decodeFhirJson('[1,2]', origin)[0]).toMatchObject({ kind: 'rejected', code: 'not-a-resource' });
    expect(decodeFhirJson('"text"', origin)[0]).toMatchObject({ kind: 'rejected', code: 'not-a-resource' });
  });

  it('unpacks a transaction Bundle: resources with their fullUrls, deletes, and a bad entry rejected alone', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:p1',
          resource: { resourceType: 'Patient' },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: 'urn:uuid:o1',
          resource: { resourceType: 'Observation', id: 'o1', subject: { reference: 'urn:uuid:p1' } },
        },
        { request: { method: 'PUT', url: 'Patient/9' } },
        { request: { method: 'DELETE', url: 'Observation/old-1' } },
      ],
    };
    const records = decodeFhirJson(JSON.stringify(bundle), origin);
    expect(records.map((r) => r.kind)).toEqual(['resource', 'resource', 'rejected', 'delete']);
    const patient = records[0] as Extract<(typeof records)[number], { kind: 'resource' }>;
    expect(patient.resource.id).toBe('p1');
    expect(patient.bundleFullUrls?.get('urn:uuid:p1')).toEqual({ resourceType: 'Patient', id: 'p1' });
    expect(records[2]).toMatchObject({
      code: 'bundle-entry-without-resource',
      origin: { file: { line: 3, entryIndex: 2 } },
    });
    expect(records[3]).toMatchObject({ resourceType: 'Observation', sourceId: 'old-1' });
  });

  it('keeps a document Bundle whole', () => {
    const records = decodeFhirJson(
      JSON.stringify({ resourceType: 'Bundle', type: 'document', entry: [] }),
      origin,
    );
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: 'resource', resource: { resourceType: 'Bundle' } });
  });

  it('keeps decimals as written, in a resource and in Bundle entries', () => {
    const text =
      '{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","id":"o",' +
      '"valueQuantity":{"value":1.50}}},{"resource":{"resourceType":"Basic","id":"b","n":[100.0,2.5]}}]}';
    const records = decodeFhirJson(text, origin);
    const resources = records.map((r) => (r.kind === 'resource' ? r.resource : undefined));
    expect(resources[0]).toMatchObject({ valueQuantity: { value: new FhirDecimal('1.50') } });
    expect(stringifyFhirJson(resources[1])).toBe('{"resourceType":"Basic","id":"b","n":[100.0,2.5]}');
  });
});
