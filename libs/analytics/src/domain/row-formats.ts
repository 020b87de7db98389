import type { ViewColumnInfo, ViewRow } from './view-definition';

/** Output formats of $viewdefinition-run (`_format`), and their media types. */
export const VIEW_FORMATS = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  csv: 'text/csv',
} as const;
export type ViewFormat = keyof typeof VIEW_FORMATS;

/** `_format` as a code (`csv`) or a media type (`text/csv`); undefined when it is neither. */
export function viewFormat(value: string): ViewFormat | undefined {
  const lower = value.trim().toLowerCase();
  if (lower in VIEW_FORMATS) return lower as ViewFormat;
  if (lower === 'application/ndjson' || lower === 'application/fhir+ndjson') return 'ndjson';
  return (Object.keys(VIEW_FORMATS) as ViewFormat[]).find((f) => VIEW_FORMATS[f] === lower);
}

/**
 * Text pieces of a streamed answer: `start`, then `row` per row (with its separator), then `end`. Every row is
 * written with the view's columns in order, so a column the row lacks is null.
 */
export interface RowEncoder {
  start(): string;
  row(row: ViewRow, index: number): string;
  end(): string;
}

export function rowEncoder(
  format: ViewFormat,
  columns: readonly ViewColumnInfo[],
  header = true,
): RowEncoder {
  const ordered = (row: ViewRow) => Object.fromEntries(columns.map((c) => [c.name, row[c.name] ?? null]));
  switch (format) {
    case 'ndjson':
      return { start: () => '', row: (row) => `${JSON.stringify(ordered(row))}\n`, end: () => '' };
    case 'json':
      return {
        start: () => '[',
        row: (row, i) => `${i === 0 ? '\n' : ',\n'}${JSON.stringify(ordered(row))}`,
        end: () => '\n]\n',
      };
    case 'csv':
      return {
        start: () => (header ? `${columns.map((c) => csvField(c.name)).join(',')}\r\n` : ''),
        row: (row) => `${columns.map((c) => csvField(row[c.name])).join(',')}\r\n`,
        end: () => '',
      };
  }
}

/** RFC 4180: null is an empty field; arrays and objects (collection columns) are their JSON. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
