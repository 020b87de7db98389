import { csvField, rowEncoder, viewFormat } from './row-formats';

const columns = [
  { name: 'id', collection: false },
  { name: 'given', collection: true },
  { name: 'note', collection: false },
];
const rows = [
  { id: 'p1', given: ['A', 'B'], note: 'says "hi", twice' },
  { note: null, id: 'p2', given: [] },
];
const encode = (format: 'json' | 'ndjson' | 'csv', header?: boolean) => {
  const encoder = rowEncoder(format, columns, header);
  return encoder.start() + rows.map((r, i) => encoder.row(r, i)).join('') + encoder.end();
};

describe('row formats', () => {
  it('reads _format as a code or a media type', () => {
    expect(
      ['csv', 'text/csv', 'NDJSON', 'application/ndjson', 'application/json', 'parquet'].map(viewFormat),
    ).toEqual(['csv', 'csv', 'ndjson', 'ndjson', 'json', undefined]);
  });

  it('writes ndjson and json with the columns in view order', () => {
    expect(encode('ndjson')).toBe(
      '{"id":"p1","given":["A","B"],"note":"says \\"hi\\", twice"}\n{"id":"p2","given":[],"note":null}\n',
    );
    expect(JSON.parse(encode('json'))).toEqual([
      { id: 'p1', given: ['A', 'B'], note: 'says "hi", twice' },
      { id: 'p2', given: [], note: null },
    ]);
    expect(encode('json', true).startsWith('[\n{"id":"p1"')).toBe(true);
    expect(JSON.parse(rowEncoder('json', columns).start() + rowEncoder('json', columns).end())).toEqual([]);
  });

  it('writes RFC 4180 CSV with a header unless told not to', () => {
    expect(encode('csv')).toBe('id,given,note\r\np1,"[""A"",""B""]","says ""hi"", twice"\r\np2,[],\r\n');
    expect(encode('csv', false).split('\r\n')[0]).toBe('p1,"[""A"",""B""]","says ""hi"", twice"');
    expect([csvField(true), csvField(1.5), csvField(' x'), csvField('a\nb')]).toEqual([
      'true',
      '1.5',
      '" x"',
      '"a\nb"',
    ]);
  });
});
