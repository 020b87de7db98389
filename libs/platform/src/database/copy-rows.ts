import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { stringifyFhirJson } from '@fa/fhir';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Rows in COPY's text format, the fastest way into PostgreSQL: each jsonb value is parsed once, where an INSERT
 * from one JSON document (json_to_recordset) parses it twice. Dates go as ISO instants, objects as JSON with
 * decimals as written (stringifyFhirJson; jsonb keeps them: `1.50` stays `1.50`).
 */
export function copyText(rows: readonly (readonly unknown[])[]): string {
  if (rows.length === 0) return '';
  return rows.map(copyLine).join('\n') + '\n';
}

/** One row in COPY's text format, without its newline. */
export function copyLine(row: readonly unknown[]): string {
  return row.map(copyField).join('\t');
}

/** COPY `text` (from copyText) into `table`; nothing to send is no statement. */
export async function copyInto(
  client: PoolClient,
  table: string,
  columns: string,
  text: string,
): Promise<void> {
  if (text === '') return;
  await pipeline(Readable.from([text]), client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`)));
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** \N is NULL; backslash, tab, newline and carriage return are escaped. */
function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') {
    return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\t\n\r]/g, (ch) => COPY_ESCAPES[ch]) : value;
  }
  if (value instanceof Date) return value.toISOString();
  // JSON.stringify escapes every control character, so only its backslashes need doubling.
  if (typeof value === 'object') return stringifyFhirJson(value).replaceAll('\\', '\\\\');
  return String(value);
}
