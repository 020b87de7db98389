import { stringifyFhirJson } from '@fa/fhir';
import { decodeKafkaMessage } from './decode-kafka-message';
import type { KafkaMessageLike } from './kafka-message';

const message = (
  value: string | null,
  headers: Record<string, string> = {},
  key: string | null = 'Patient/p1',
): KafkaMessageLike => ({
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  offset: '42',
  timestamp: String(Date.parse('2026-01-02T03:04:05Z')),
  headers,
});
const options = { topicSource: 'hospital-a', maxMessageBytes: 1000 };

describe('decodeKafkaMessage', () => {
  it('takes the source from the header, else the topic, and puts Kafka coordinates and headers in the origin', () => {
    const decoded = decodeKafkaMessage(
      'ehr',
      3,
      message('{"resourceType":"Patient","id":"p1"}', {
        'correlation-id': 'c-1',
        'source-received-at': '2026-01-01T00:00:00Z',
      }),
      options,
    );
    expect(decoded.source).toBe('hospital-a');
    expect(decoded.records[0]).toMatchObject({
      kind: 'resource',
      origin: {
        kafka: {
          topic: 'ehr',
          partition: 3,
          offset: '42',
          key: 'Patient/p1',
          timestamp: '2026-01-02T03:04:05.000Z',
          sourceReceivedAt: '2026-01-01T00:00:00Z',
        },
        correlationId: 'c-1',
      },
    });
    expect(decodeKafkaMessage('ehr', 0, message('{}', { source: 'lab-c' }), options).source).toBe('lab-c');
  });

  it('rejects a message with no usable source', () => {
    const none = decodeKafkaMessage('shared', 0, message('{}'), { maxMessageBytes: 1000 });
    expect(none).toMatchObject({
      source: 'unknown',
      records: [{ kind: 'rejected', code: 'unknown-source' }],
    });
    const bad = decodeKafkaMessage('shared', 0, message('{}', { source: 'bad source!' }), options);
    expect(bad.records[0]).toMatchObject({ code: 'unknown-source' });
  });

  it('turns a tombstone keyed <Type>/<id> into a delete and rejects one with another key', () => {
    expect(decodeKafkaMessage('ehr', 0, message(null), options).records[0]).toMatchObject({
      kind: 'delete',
      resourceType: 'Patient',
      sourceId: 'p1',
    });
    expect(decodeKafkaMessage('ehr', 0, message(null, {}, 'whatever'), options).records[0]).toMatchObject({
      code: 'invalid-delete',
    });
  });

  it('rejects an oversized message without reading it', () => {
    expect(decodeKafkaMessage('ehr', 0, message('x'.repeat(1001)), options).records[0]).toMatchObject({
      code: 'too-large',
    });
  });

  it('reads NDJSON messages line by line, each line with its index', () => {
    const ndjson = [
      '{"resourceType":"Patient","id":"a"}',
      'oops',
      '',
      '{"resourceType":"Patient","id":"b"}',
    ].join('\n');
    const decoded = decodeKafkaMessage(
      'ehr',
      0,
      message(ndjson, { 'content-type': 'application/fhir+ndjson' }),
      options,
    );
    expect(decoded.records.map((r) => [r.kind, r.origin.kafka?.entryIndex])).toEqual([
      ['resource', 0],
      ['rejected', 1],
      ['resource', 3],
    ]);
  });

  it('keeps decimals as written in a message and in each NDJSON line', () => {
    const one = decodeKafkaMessage('ehr', 0, message('{"resourceType":"Basic","id":"b","n":1.50}'), options);
    const lines = decodeKafkaMessage(
      'ehr',
      0,
      message('{"resourceType":"Basic","id":"b1","n":0.50}\n{"resourceType":"Basic","id":"b2","n":1E-22}', {
        'content-type': 'application/fhir+ndjson',
      }),
      options,
    );
    const written = [...one.records, ...lines.records].map((r) =>
      r.kind === 'resource' ? stringifyFhirJson(r.resource.n) : r.kind,
    );
    expect(written).toEqual(['1.50', '0.50', '1E-22']);
  });

  it('rejects a value that is not UTF-8, or NDJSON that is not, as invalid-utf8', () => {
    const bad: KafkaMessageLike = { ...message(null), value: Buffer.from([0x7b, 0xff, 0x7d]) };
    expect(decodeKafkaMessage('ehr', 0, bad, options).records).toEqual([
      expect.objectContaining({ kind: 'rejected', code: 'invalid-utf8', origin: expect.anything() }),
    ]);
    const ndjson = { ...bad, headers: { 'content-type': 'application/fhir+ndjson' } };
    expect(decodeKafkaMessage('ehr', 0, ndjson, options).records[0]).toMatchObject({ code: 'invalid-utf8' });
  });

  it('rejects a NUL in any string as nul-character, and gives the message origin', () => {
    const decoded = decodeKafkaMessage(
      'ehr',
      2,
      message(JSON.stringify({ resourceType: 'Patient', id: 'p1', name: [{ family: '\u0000' }] })),
      options,
    );
    expect(decoded.records[0]).toMatchObject({ kind: 'rejected', code: 'nul-character' });
    expect(decoded.origin.kafka).toMatchObject({ topic: 'ehr', partition: 2, offset: '42' });
  });
});
