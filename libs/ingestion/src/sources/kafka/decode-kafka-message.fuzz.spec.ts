import fc from 'fast-check';
import { normalizeResource } from '../../domain/normalize-resource';
import type { SourceRecord } from '../../domain/source-record';
import { decodeKafkaMessage } from './decode-kafka-message';
import type { KafkaMessageLike } from './kafka-message';

const CODES = new Set([
  'not-json',
  'not-a-resource',
  'missing-resource-type',
  'unknown-resource-type',
  'too-large',
  'too-deep',
  'bundle-entry-without-resource',
  'invalid-delete',
  'unknown-source',
  'invalid-utf8',
  'nul-character',
  'lone-surrogate',
  'control-character',
]);

const message = (value: Buffer | null, headers: Record<string, string> = {}): KafkaMessageLike => ({
  key: Buffer.from('k'),
  value,
  offset: '7',
  timestamp: '1767225600000',
  headers,
});

/** A resource-shaped object with wrong types in its elements. */
const hostileResource = fc
  .record(
    {
      resourceType: fc.oneof(fc.constantFrom('Patient', 'Observation', 'Bundle', 'Nope', ''), fc.anything()),
      id: fc.oneof(fc.string(), fc.anything()),
      meta: fc.anything(),
      name: fc.anything(),
      subject: fc.oneof(fc.record({ reference: fc.anything() }), fc.anything()),
      entry: fc.anything(),
      type: fc.constantFrom('batch', 'transaction', 'collection', 'document', 7),
    },
    { requiredKeys: ['resourceType'] },
  )
  .map((resource) => Buffer.from(JSON.stringify(resource) ?? 'null'));

const messages = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.json().map((text) => Buffer.from(text)),
  fc.json().chain((text) => fc.nat(text.length).map((cut) => Buffer.from(text.slice(0, cut)))),
  fc.nat(3000).map((depth) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
  fc.nat(3000).map((depth) => Buffer.from(`${'{"a":'.repeat(depth)}"\\u0000"${'}'.repeat(depth)}`)),
  fc
    .string({ unit: 'binary', maxLength: 100 })
    .map((s) => Buffer.from(JSON.stringify({ resourceType: 'Patient', id: 'p', x: s }))),
  hostileResource,
);

function checkRecords(records: SourceRecord[]): void {
  expect(records.length).toBeGreaterThanOrEqual(0);
  for (const record of records) {
    if (record.kind === 'rejected') {
      expect(CODES.has(record.code)).toBe(true);
      expect(record.reason.length).toBeGreaterThan(0);
      expect(record.excerpt ?? '').not.toMatch(/\u0000/);
    } else if (record.kind === 'resource') {
      const normalized = normalizeResource('lab', record.resource, record.bundleFullUrls);
      if (!normalized.ok) expect(CODES.has(normalized.code)).toBe(true);
    }
  }
}

describe('decodeKafkaMessage and normalizeResource over hostile messages (fast-check, seeded)', () => {
  it('never throw; every rejection has a known code and a reason; excerpts hold no NUL', () => {
    fc.assert(
      fc.property(messages, fc.boolean(), (value, ndjson) => {
        const decoded = decodeKafkaMessage(
          'ehr',
          0,
          message(value, ndjson ? { 'content-type': 'application/fhir+ndjson' } : {}),
          { topicSource: 'lab', maxMessageBytes: 100_000 },
        );
        // A message always yields something (a record, a delete or a rejection), but an empty Bundle.
        if (!ndjson && decoded.records.length === 0) {
          expect(JSON.parse(value.toString('utf8'))).toMatchObject({ resourceType: 'Bundle' });
        }
        checkRecords(decoded.records);
      }),
      { seed: 22, numRuns: 2000 },
    );
  });
});
