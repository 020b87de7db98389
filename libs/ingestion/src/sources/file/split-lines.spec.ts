import { splitLines } from './split-lines';

async function collect(chunks: string[], max: number) {
  async function* source() {
    for (const c of chunks) yield Buffer.from(c);
  }
  const out = [];
  for await (const line of splitLines(source(), max)) out.push(line);
  return out;
}

describe('splitLines', () => {
  it('splits across chunk boundaries, numbers lines, strips CR and keeps a last line without newline', async () => {
    expect(await collect(['ab', 'c\r\nde\n', '\nf'], 100)).toEqual([
      { line: 1, end: 5, bytes: Buffer.from('abc') },
      { line: 2, end: 8, bytes: Buffer.from('de') },
      { line: 3, end: 9, bytes: Buffer.from('') },
      { line: 4, end: 10, bytes: Buffer.from('f') },
    ]);
  });

  it('reports an over-long line by size and goes on with the next', async () => {
    expect(await collect(['x'.repeat(30), 'y'.repeat(30), '\nok\n'], 50)).toEqual([
      { line: 1, end: 61, tooLargeBytes: 60 },
      { line: 2, end: 64, bytes: Buffer.from('ok') },
    ]);
  });

  it('numbers lines and offsets on from where a resumed stream starts', async () => {
    async function* rest() {
      yield Buffer.from('de\nf');
    }
    const out = [];
    for await (const line of splitLines(rest(), 100, { line: 1, offset: 5 })) out.push(line);
    expect(out).toEqual([
      { line: 2, end: 8, bytes: Buffer.from('de') },
      { line: 3, end: 9, bytes: Buffer.from('f') },
    ]);
  });
});
