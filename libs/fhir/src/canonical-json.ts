import { createHash } from 'node:crypto';
import { FhirDecimal } from './fhir-json';

/**
 * JSON with object keys sorted at every level, so equal content always gives equal bytes. A decimal is written
 * as it was written (FhirDecimal): 1.5 and 1.50 are different content.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof FhirDecimal) return value.text;
  // Loops rather than map/filter/join: this runs over every ingested resource (content hash), and the
  // intermediate arrays were most of its cost.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i]);
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member);
    first = false;
  }
  return out + '}';
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
