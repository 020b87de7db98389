import { ANY, NO_STREAM, STREAM_EXISTS } from '@eventstore/db-client';
import { parseFhirJson, stringifyFhirJson } from '@fa/fhir';
import { START_OF_LOG } from '../event-store.port';
import {
  comparePositions,
  decodeData,
  encodeData,
  formatPosition,
  isSystemEvent,
  logOrderOf,
  parsePosition,
  splitRecordedAt,
  streamPrefixRegex,
  toEventStoreDbRevision,
  withRecordedAt,
} from './eventstoredb-mapping';
import { expectationHolds } from '../append-requests';

describe('EventStoreDB positions', () => {
  const max = 2n ** 64n - 1n;

  it('round-trip commit:prepare through the opaque string, up to 64 bits', () => {
    for (const position of [
      { commit: 0n, prepare: 0n },
      { commit: 1234n, prepare: 1200n },
      { commit: max, prepare: max - 1n },
    ]) {
      expect(parsePosition(formatPosition(position))).toEqual(position);
    }
    expect(formatPosition({ commit: 99n, prepare: 7n })).toBe('99:7');
    expect(() => parsePosition('12')).toThrow('Not an EventStoreDB position: "12"');
    expect(() => parsePosition('1:x')).toThrow();
  });

  it('order by commit, then prepare, numerically; the start of the log first', () => {
    const sorted = ['', '9:9', '10:2', '10:10', '100:0', `${max}:0`];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort(comparePositions)).toEqual(sorted);
    expect(comparePositions('10:10', '10:10')).toBe(0);
    expect(comparePositions(START_OF_LOG, START_OF_LOG)).toBe(0);
    expect(comparePositions('99:1', '100:0')).toBeLessThan(0);
  });

  it('give logOrder as [commit, prepare] in decimal', () => {
    expect(logOrderOf({ commit: 10n, prepare: 3n })).toEqual(['10', '3']);
  });
});

describe('EventStoreDB expected revisions', () => {
  it('map to the client constants and BigInt revisions', () => {
    expect(toEventStoreDbRevision('any')).toBe(ANY);
    expect(toEventStoreDbRevision('no_stream')).toBe(NO_STREAM);
    expect(toEventStoreDbRevision('stream_exists')).toBe(STREAM_EXISTS);
    expect(toEventStoreDbRevision(0)).toBe(0n);
    expect(toEventStoreDbRevision(41)).toBe(41n);
    expect(() => toEventStoreDbRevision(-1)).toThrow('non-negative integer');
    expect(() => toEventStoreDbRevision(1.5)).toThrow('non-negative integer');
  });

  it('are checked before writing as the PostgreSQL adapter checks them', () => {
    expect(expectationHolds('no_stream', -1)).toBe(true);
    expect(expectationHolds('no_stream', 0)).toBe(false);
    expect(expectationHolds('stream_exists', -1)).toBe(false);
    expect(expectationHolds('stream_exists', 3)).toBe(true);
    expect(expectationHolds(3, 3)).toBe(true);
    expect(expectationHolds(3, 4)).toBe(false);
    expect(expectationHolds('any', -1)).toBe(true);
  });
});

describe('EventStoreDB stream prefix filter', () => {
  it('matches prefixes literally: regex metacharacters are escaped', () => {
    const regex = new RegExp(streamPrefixRegex(['Patient-', 'a.b*(c)|[d]$^+?{1}\\']));
    expect(regex.test('Patient-1')).toBe(true);
    expect(regex.test('PatientIdentity-1')).toBe(false);
    expect(regex.test('xPatient-1')).toBe(false);
    expect(regex.test('a.b*(c)|[d]$^+?{1}\\-7')).toBe(true);
    expect(regex.test('aXb*(c)|[d]$^+?{1}\\-7')).toBe(false);
    expect(regex.test('d]')).toBe(false);
  });

  it('matches nothing for no prefixes', () => {
    expect(new RegExp(streamPrefixRegex([])).test('Patient-1')).toBe(false);
    expect(new RegExp(streamPrefixRegex([])).test('')).toBe(false);
  });

  it('knows EventStoreDB system streams and types are not our log', () => {
    expect(isSystemEvent('$settings', 'Settings')).toBe(true);
    expect(isSystemEvent('Patient-1', '$metadata')).toBe(true);
    expect(isSystemEvent('Patient-1', 'ResourceVersionRecorded')).toBe(false);
  });
});

describe('EventStoreDB record time of copied events', () => {
  it('travels in a reserved metadata key and is taken out on read', () => {
    const recordedAt = new Date('2021-01-02T03:04:05.678Z');
    const stored = withRecordedAt({ source: 'a' }, recordedAt);
    expect(stored).toEqual({ source: 'a', $recordedAt: '2021-01-02T03:04:05.678Z' });
    expect(splitRecordedAt(stored, new Date(0))).toEqual({ metadata: { source: 'a' }, recordedAt });
  });

  it('leaves metadata alone without one, and falls back to the server time', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    expect(withRecordedAt({ a: 1 }, undefined)).toEqual({ a: 1 });
    expect(withRecordedAt(undefined, undefined)).toEqual({});
    expect(splitRecordedAt({ a: 1 }, created)).toEqual({ metadata: { a: 1 }, recordedAt: created });
    expect(splitRecordedAt(undefined, created)).toEqual({ metadata: {}, recordedAt: created });
    expect(() => withRecordedAt('text', created)).toThrow('needs object metadata');
  });
});

describe('EventStoreDB event data', () => {
  it('keeps decimals as written through the bytes it stores', () => {
    const data = parseFhirJson('{"valueQuantity":{"value":1.50,"unit":"mg"},"n":[0.10,3]}');
    const bytes = encodeData(data);
    expect(Buffer.from(bytes).toString('utf8')).toBe(
      '{"valueQuantity":{"value":1.50,"unit":"mg"},"n":[0.10,3]}',
    );
    expect(stringifyFhirJson(decodeData(bytes))).toBe(stringifyFhirJson(data));
  });

  it('takes a JSON event written by another tool as the client parsed it', () => {
    expect(decodeData({ a: 1 })).toEqual({ a: 1 });
  });
});
