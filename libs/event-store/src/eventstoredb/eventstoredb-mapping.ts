import { ANY, NO_STREAM, STREAM_EXISTS } from '@eventstore/db-client';
import type { AppendExpectedRevision, Position } from '@eventstore/db-client';
import { parseFhirJson, stringifyFhirJson } from '@fa/fhir';
import { ExpectedRevision, GlobalPosition, START_OF_LOG } from '../event-store.port';

/**
 * The EventStoreDB adapter's pure parts: positions, expected revisions and stream-prefix matching. Positions are
 * "<commit>:<prepare>" (both unsigned 64-bit integers, decimal), the pair EventStoreDB orders $all by; only this
 * adapter looks inside them.
 */

export function formatPosition(position: Position): GlobalPosition {
  return `${position.commit.toString(10)}:${position.prepare.toString(10)}`;
}

/** START_OF_LOG ('') has no EventStoreDB position: read from the start instead. */
export function parsePosition(position: GlobalPosition): Position {
  const match = /^(\d{1,20}):(\d{1,20})$/.exec(position);
  if (!match) throw new Error(`Not an EventStoreDB position: ${JSON.stringify(position)}`);
  return { commit: BigInt(match[1]), prepare: BigInt(match[2]) };
}

/** Commit position first, then prepare position; START_OF_LOG is before every event. */
export function comparePositions(a: GlobalPosition, b: GlobalPosition): number {
  if (a === START_OF_LOG || b === START_OF_LOG) return a === b ? 0 : a === START_OF_LOG ? -1 : 1;
  const pa = parsePosition(a);
  const pb = parsePosition(b);
  if (pa.commit !== pb.commit) return pa.commit < pb.commit ? -1 : 1;
  return pa.prepare === pb.prepare ? 0 : pa.prepare < pb.prepare ? -1 : 1;
}

export function logOrderOf(position: Position): readonly [string, string] {
  return [position.commit.toString(10), position.prepare.toString(10)];
}

export function toEventStoreDbRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0)
        throw new Error(`Expected revision must be a non-negative integer, got ${expected}`);
      return BigInt(expected);
  }
}

/** The same rule as the PostgreSQL adapter applies, checked before anything of a batch is written. */

/** A regular expression matching stream ids that start with one of the prefixes, each taken literally. */
export function streamPrefixRegex(prefixes: readonly string[]): string {
  if (prefixes.length === 0) return '^(?!)';
  return `^(?:${prefixes.map((prefix) => prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`;
}

/** System streams ($…) and system event types ($metadata, $>) are EventStoreDB's own, not part of our log. */
export function isSystemEvent(streamId: string, type: string): boolean {
  return streamId.startsWith('$') || type.startsWith('$');
}

/**
 * EventStoreDB sets an event's `created` itself; a copied event keeps its original record time in this metadata
 * key, which the adapter takes out again on read.
 */
export const RECORDED_AT_KEY = '$recordedAt';

export function withRecordedAt(metadata: unknown, recordedAt: Date | undefined): unknown {
  if (!recordedAt) return metadata ?? {};
  const base = metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? metadata : {};
  if (metadata !== undefined && base !== metadata)
    throw new Error('An event with recordedAt needs object metadata on EventStoreDB');
  return { ...base, [RECORDED_AT_KEY]: recordedAt.toISOString() };
}

export function splitRecordedAt(metadata: unknown, created: Date): { metadata: unknown; recordedAt: Date } {
  if (!metadata || typeof metadata !== 'object' || !(RECORDED_AT_KEY in metadata))
    return { metadata: metadata ?? {}, recordedAt: created };
  const { [RECORDED_AT_KEY]: recordedAt, ...rest } = metadata as Record<string, unknown>;
  const date = new Date(String(recordedAt));
  return { metadata: rest, recordedAt: Number.isNaN(date.getTime()) ? created : date };
}

/**
 * Event data as JSON text written by stringifyFhirJson, so decimals keep their written form (`1.50`), which the
 * client's jsonEvent (JSON.stringify) would turn into doubles. EventStoreDB stores it as a binary event.
 */
export function encodeData(data: unknown): Uint8Array {
  return Buffer.from(stringifyFhirJson(data), 'utf8');
}

/** Our binary events are FHIR JSON text; a JSON event written by another tool comes parsed already. */
export function decodeData(data: unknown): unknown {
  return data instanceof Uint8Array ? parseFhirJson(Buffer.from(data).toString('utf8')) : data;
}
