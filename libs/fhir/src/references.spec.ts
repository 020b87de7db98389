import { parseReference, rewriteReferences } from './references';

describe('parseReference', () => {
  it('classifies every kind of reference', () => {
    expect(parseReference('Patient/123')).toEqual({ kind: 'literal', resourceType: 'Patient', id: '123' });
    expect(parseReference('https://ehr.example/fhir/Patient/a-1/_history/3')).toEqual({
      kind: 'literal',
      resourceType: 'Patient',
      id: 'a-1',
      version: '3',
      base: 'https://ehr.example/fhir',
    });
    expect(parseReference('urn:uuid:9b1c')).toEqual({ kind: 'urn', urn: 'urn:uuid:9b1c' });
    expect(parseReference('#med1')).toEqual({ kind: 'contained', id: 'med1' });
    expect(parseReference('Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999')).toEqual({
      kind: 'conditional',
      resourceType: 'Practitioner',
      query: 'identifier=http://hl7.org/fhir/sid/us-npi|999',
    });
    expect(parseReference('Unicorn/1')).toEqual({ kind: 'unresolvable' });
    expect(parseReference('Patient/has space')).toEqual({ kind: 'unresolvable' });
  });
});

describe('rewriteReferences', () => {
  it('rewrites references at any depth, including contained resources, and counts changes', () => {
    const resource = {
      subject: { reference: 'Patient/1' },
      contained: [{ resourceType: 'Medication', manufacturer: { reference: 'Organization/2' } }],
      extension: [{ valueReference: { reference: '#x' } }],
    };
    const changed = rewriteReferences(resource, (ref) => (ref.startsWith('#') ? undefined : `${ref}-new`));
    expect(changed).toBe(2);
    expect(resource.subject.reference).toBe('Patient/1-new');
    expect(resource.contained[0].manufacturer.reference).toBe('Organization/2-new');
    expect(resource.extension[0].valueReference.reference).toBe('#x');
  });

  it('rewrites a Reference held in an element named reference (Consent.provision.actor.reference)', () => {
    const consent = { provision: { actor: [{ reference: { reference: 'Organization/f001' } }] } };
    expect(rewriteReferences(consent, (ref) => `${ref}-new`)).toBe(1);
    expect(consent.provision.actor[0].reference.reference).toBe('Organization/f001-new');
  });
});
