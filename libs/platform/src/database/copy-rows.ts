import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Rows in COPY's text format, the fastest way into PostgreSQL: each jsonb value is parsed once, where an INSERT
 * from one JSON document (json_to_recordset) parses it twice. Dates go as ISO instants, objects as JSON.
 */
export function copyText(rows: readonly (readonly unknown[])[]): string {
  if (rows.length === 0) return '';
  return rows.map((row) => row.map(copyField).join('\t')).join('\n') + '\n';
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

/** \N is NULL; backslash, tab, newline and carriage return are escaped. */
function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return text.replace(/[\\\t\n\r]/g, (ch) => COPY_ESCAPES[ch]);
}
