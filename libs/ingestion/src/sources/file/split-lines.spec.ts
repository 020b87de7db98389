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
      { line: 1, bytes: Buffer.from('abc') },
      { line: 2, bytes: Buffer.from('de') },
      { line: 3, bytes: Buffer.from('') },
      { line: 4, bytes: Buffer.from('f') },
    ]);
  });

  it('reports an over-long line by size and goes on with the next', async () => {
    expect(await collect(['x'.repeat(30), 'y'.repeat(30), '\nok\n'], 50)).toEqual([
      { line: 1, tooLargeBytes: 60 },
      { line: 2, bytes: Buffer.from('ok') },
    ]);
  });
});
