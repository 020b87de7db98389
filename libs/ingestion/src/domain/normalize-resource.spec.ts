import { canonicalJson, parseFhirJson, sha256Hex, stringifyFhirJson } from '@fa/fhir';
import { aggregateIdOf } from './aggregate-ids';
import { normalizeResource } from './normalize-resource';

const observation = () => ({
  resourceType: 'Observation',
  id: 'obs-1',
  meta: { versionId: '7', lastUpdated: '2024-01-01T00:00:00Z', profile: ['http://example.org/p'] },
  status: 'final',
  code: { text: 'weight' },
  subject: { reference: 'Patient/p-1' },
  performer: [
    { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|123' },
    { reference: 'urn:uuid:abc' },
  ],
  hasMember: [{ reference: 'https://ehr.example/fhir/Observation/obs-2/_history/4' }],
});

describe('normalizeResource', () => {
  it('namespaces the id and literal references per source, keeps conditional ones, moves source meta to lineage', () => {
    const result = normalizeResource(
      'hospital-a',
      observation(),
      new Map([['urn:uuid:abc', { resourceType: 'Practitioner', id: 'pr-9' }]]),
    );
    if (!result.ok) throw new Error(result.reason);
    const { value } = result;
    const resource = value.resource as unknown as ReturnType<typeof observation>;
    expect(value.id).toBe(aggregateIdOf('hospital-a', 'Observation', 'obs-1'));
    expect(resource.id).toBe(value.id);
    expect(resource.subject.reference).toBe(`Patient/${aggregateIdOf('hospital-a', 'Patient', 'p-1')}`);
    expect(resource.performer[0].reference).toBe(
      'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|123',
    );
    expect(resource.performer[1].reference).toBe(
      `Practitioner/${aggregateIdOf('hospital-a', 'Practitioner', 'pr-9')}`,
    );
    expect(resource.hasMember[0].reference).toBe(
      `Observation/${aggregateIdOf('hospital-a', 'Observation', 'obs-2')}`,
    );
    expect(resource.meta).toEqual({
      profile: ['http://example.org/p'],
      source: 'urn:fhir-aggregator:source:hospital-a#Observation/obs-1',
    });
    expect(value.sourceVersionId).toBe('7');
    expect(value.sourceLastUpdated).toBe('2024-01-01T00:00:00Z');
    expect(value.contentHash).toBe(sha256Hex(canonicalJson(resource)));
    expect(value.transformations.map((t) => t.name)).toEqual([
      'namespace-id',
      'rewrite-references',
      'source-meta',
    ]);
  });

  it('gives different sources different ids for the same source id, and the same source always the same', () => {
    const a = normalizeResource('a', observation());
    const b = normalizeResource('b', observation());
    const a2 = normalizeResource('a', observation());
    if (!a.ok || !b.ok || !a2.ok) throw new Error('unexpected rejection');
    expect(a.value.id).not.toBe(b.value.id);
    expect(a2.value.id).toBe(a.value.id);
    expect(a2.value.contentHash).toBe(a.value.contentHash);
  });

  it('hashes content independently of key order and of the source version stamp', () => {
    const { resourceType, ...rest } = observation();
    const reordered = {
      ...Object.fromEntries(Object.entries(rest).reverse()),
      resourceType,
      meta: { profile: ['http://example.org/p'] },
    };
    const a = normalizeResource('a', observation());
    const b = normalizeResource('a', reordered);
    if (!a.ok || !b.ok) throw new Error('unexpected rejection');
    expect(b.value.contentHash).toBe(a.value.contentHash);
  });

  it('identifies a resource without id by its content and records the issue', () => {
    const { id: _ignored, ...withoutId } = observation();
    const result = normalizeResource('a', withoutId);
    if (!result.ok) throw new Error(result.reason);
    expect(result.value.sourceId).toMatch(/^sha256-[0-9a-f]{32}$/);
    expect(result.value.validationIssues[0].code).toBe('required');
  });

  it('rejects what cannot be a resource, with a specific code', () => {
    expect(normalizeResource('a', { id: 'x' })).toMatchObject({ ok: false, code: 'missing-resource-type' });
    expect(normalizeResource('a', { resourceType: 'Unicorn' })).toMatchObject({
      ok: false,
      code: 'unknown-resource-type',
    });
    expect(normalizeResource('a', { resourceType: 42 })).toMatchObject({
      ok: false,
      code: 'unknown-resource-type',
    });
  });

  it('keeps decimals as written, and hashes 1.5 and 1.50 as different content', () => {
    const normalize = (text: string) => {
      const result = normalizeResource('a', parseFhirJson(text) as Record<string, unknown>);
      if (!result.ok) throw new Error(result.reason);
      return result.value;
    };
    const precise = normalize('{"resourceType":"Observation","id":"o","valueQuantity":{"value":1.50}}');
    const plain = normalize('{"resourceType":"Observation","id":"o","valueQuantity":{"value":1.5}}');
    expect(stringifyFhirJson((precise.resource as { valueQuantity?: unknown }).valueQuantity)).toBe(
      '{"value":1.50}',
    );
    expect(precise.contentHash).not.toBe(plain.contentHash);
    expect(precise.contentHash).toBe(sha256Hex(canonicalJson(precise.resource)));
  });
});
