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

  it('with an expected type, rejects a resource of another type or of none (the Bundle itself, not its entries)', () => {
    const patient = JSON.stringify({ resourceType: 'Patient', id: 'p' });
    expect(decodeFhirJson(patient, origin, { expectedType: 'Observation' })).toEqual([
      {
        kind: 'rejected',
        code: 'unexpected-resource-type',
        reason: 'a Patient where only Observation resources belong',
        origin,
        excerpt: patient,
      },
    ]);
    expect(decodeFhirJson(patient, origin, { expectedType: 'Patient' })[0].kind).toBe('resource');
    const deletes = JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ request: { method: 'DELETE', url: 'Patient/p' } }],
    });
    expect(decodeFhirJson(deletes, origin, { expectedType: 'Bundle' })[0].kind).toBe('delete');
    expect(decodeFhirJson(deletes, origin, { expectedType: 'Patient' })[0]).toMatchObject({
      code: 'unexpected-resource-type',
    });
    expect(decodeFhirJson('{"id":"x"}', origin, { expectedType: 'Patient' })[0]).toMatchObject({
      code: 'missing-resource-type',
      reason: 'the object has no resourceType; only Patient resources belong',
    });
    // Without an expected type, a missing resourceType is normalization's to reject.
    expect(decodeFhirJson('{"id":"x"}', origin)[0].kind).toBe('resource');
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

  describe('input hygiene', () => {
    it('rejects bytes that are not UTF-8 as invalid-utf8, with a storable excerpt', () => {
      const bytes = Buffer.concat([
        Buffer.from('{"resourceType":"Patient","name":[{"family":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}]}'),
      ]);
      const [record] = decodeFhirJson(bytes, origin);
      expect(record).toMatchObject({
        kind: 'rejected',
        code: 'invalid-utf8',
        reason: 'not valid UTF-8: the byte sequence ending at byte 46 is invalid',
        excerpt: expect.stringContaining('\ufffd('),
      });
    });

    it('decodes valid UTF-8 bytes as the same text would be', () => {
      const text = '{"resourceType":"Patient","id":"p1","name":[{"family":"Ångström"}]}';
      expect(decodeFhirJson(Buffer.from(text), origin)).toEqual(decodeFhirJson(text, origin));
    });

    it('rejects a \\u0000 escape as nul-character, naming the field, and a raw NUL too', () => {
      const escaped = '{"resourceType":"Patient","id":"p1","name":[{"family":"a\\u0000b"}]}';
      expect(decodeFhirJson(escaped, origin)[0]).toEqual({
        kind: 'rejected',
        code: 'nul-character',
        reason: 'the string at name[0].family holds a NUL character (U+0000) at character 1',
        origin,
      });
      const raw = decodeFhirJson('{"resourceType":"Patient","id":"a\u0000"}', origin)[0];
      expect(raw).toMatchObject({
        code: 'nul-character',
        excerpt: '{"resourceType":"Patient","id":"a\ufffd"}',
      });
    });

    it('rejects an unpaired surrogate escape as lone-surrogate, and keeps a proper pair', () => {
      expect(
        decodeFhirJson('{"resourceType":"Patient","id":"p","gender":"\\ud800"}', origin)[0],
      ).toMatchObject({
        code: 'lone-surrogate',
        reason: expect.stringContaining('the string at gender'),
      });
      expect(
        decodeFhirJson('{"resourceType":"Patient","id":"p","gender":"\\ud83d\\ude42"}', origin)[0].kind,
      ).toBe('resource');
    });

    it('rejects only the Bundle entry holding a NUL; its siblings go in', () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: { resourceType: 'Patient', id: 'ok' } },
          { resource: { resourceType: 'Patient', id: 'bad', name: [{ family: 'x\u0000' }] } },
        ],
      };
      const records = decodeFhirJson(JSON.stringify(bundle), origin);
      expect(records.map((r) => (r.kind === 'rejected' ? r.code : r.kind))).toEqual([
        'resource',
        'nul-character',
      ]);
      expect(records[1].origin).toEqual({ file: { ...origin.file, entryIndex: 1 } });
    });

    it("names each entry of a Bundle pulled from a Bulk Data export: its export line's entry, beside Kafka's", () => {
      const bulk = {
        server: 'https://payer.example/fhir',
        statusUrl: 'https://payer.example/jobs/1',
        transactionTime: '2026-01-01T00:00:00Z',
        fileUrl: 'https://payer.example/files/Bundle-1.ndjson',
        line: 7,
      };
      const kafka = { topic: 't', partition: 0, offset: '5' };
      const bundle = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{}, {}, { resource: { resourceType: 'Patient', id: 'ok' } }],
      };
      const records = decodeFhirJson(JSON.stringify(bundle), { bulk });
      // Two rejections on one line are two origins (their IngestionRejected ids differ), not one.
      expect(records.map((r) => r.origin)).toEqual(
        [0, 1, 2].map((entryIndex) => ({ bulk: { ...bulk, entryIndex } })),
      );
      const relayed = decodeFhirJson(JSON.stringify(bundle), { bulk, kafka });
      expect(relayed[1].origin).toEqual({
        bulk: { ...bulk, entryIndex: 1 },
        kafka: { ...kafka, entryIndex: 1 },
      });
    });
  });
  describe('limits (input-limits.ts)', () => {
    const codeOf = (text: string) => {
      const [record] = decodeFhirJson(text, origin);
      return record.kind === 'rejected' ? { code: record.code, reason: record.reason } : record.kind;
    };

    it('rejects a value longer than its FHIR type allows, naming the field and the type', () => {
      expect(codeOf(JSON.stringify({ resourceType: 'Patient', id: 'x'.repeat(65) }))).toEqual({
        code: 'too-long',
        reason: 'the id at id is 65 characters; an id has at most 64',
      });
      expect(
        codeOf(JSON.stringify({ resourceType: 'Patient', id: 'p', gender: 'm'.repeat(1025) })),
      ).toMatchObject({
        code: 'too-long',
        reason: expect.stringContaining('the code at gender is 1025 characters'),
      });
      const system = `http://${'s'.repeat(4096)}`;
      expect(
        codeOf(JSON.stringify({ resourceType: 'Patient', id: 'p', identifier: [{ system, value: '1' }] })),
      ).toMatchObject({
        code: 'too-long',
        reason: expect.stringContaining('the uri at identifier[0].system'),
      });
      expect(
        codeOf(JSON.stringify({ resourceType: 'Observation', id: 'o', valueDateTime: '2'.repeat(65) })),
      ).toMatchObject({ code: 'too-long', reason: expect.stringContaining('the dateTime at valueDateTime') });
      const contained = {
        resourceType: 'Patient',
        id: 'p',
        contained: [{ resourceType: 'Patient', id: 'i'.repeat(65) }],
      };
      expect(codeOf(JSON.stringify(contained))).toMatchObject({
        code: 'too-long',
        reason: expect.stringContaining('the id at contained[0].id'),
      });
    });

    it('keeps long values their type allows: strings to 1 MB, base64Binary by the message size alone', () => {
      const long = 'a'.repeat(100_000);
      expect(codeOf(JSON.stringify({ resourceType: 'Patient', id: 'p', name: [{ family: long }] }))).toBe(
        'resource',
      );
      const photo = { resourceType: 'Patient', id: 'p', photo: [{ data: 'A'.repeat(2 * 1024 * 1024) }] };
      expect(codeOf(JSON.stringify(photo))).toBe('resource');
      expect(
        codeOf(
          JSON.stringify({
            resourceType: 'Patient',
            id: 'p',
            name: [{ family: 'a'.repeat(1024 * 1024 + 1) }],
          }),
        ),
      ).toMatchObject({ code: 'too-long', reason: expect.stringContaining('the string at name[0].family') });
    });

    it('rejects a resource nested deeper than 64 levels or with more than 100,000 values, naming where', () => {
      let deep: Record<string, unknown> = {};
      const root = { resourceType: 'Basic', id: 'b', extension: [deep] };
      for (let i = 0; i < 70; i++) deep = (deep.extension = {}) as Record<string, unknown>;
      expect(codeOf(JSON.stringify(root))).toMatchObject({
        code: 'too-deep',
        reason: expect.stringMatching(
          /^nested deeper than 64 levels at extension\[0\]\.extension\.extension/,
        ),
      });
      const many = { resourceType: 'Basic', id: 'b', extension: Array(100_000).fill({ url: 'u' }) };
      expect(codeOf(JSON.stringify(many))).toMatchObject({
        code: 'too-many-elements',
        reason: expect.stringContaining('more than 100000 JSON values'),
      });
    });
  });
});
