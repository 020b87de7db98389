/** A line of the stream; `end` is the byte offset just after it (and its newline), where reading may resume. */
export type SplitLine =
  { line: number; end: number; bytes: Buffer } | { line: number; end: number; tooLargeBytes: number };

/**
 * Splits a byte stream into lines without ever holding more than maxLineBytes of one line: a longer line is
 * reported with its size and skipped, so one huge record cannot exhaust memory or stop the file. A stream that
 * resumes a file part way (HTTP Range) passes where it starts: the line number before it and its byte offset.
 */
export async function* splitLines(
  chunks: AsyncIterable<Buffer>,
  maxLineBytes: number,
  from: { line: number; offset: number } = { line: 0, offset: 0 },
): AsyncGenerator<SplitLine> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let overflowBytes = 0;
  let lineNumber = from.line;
  let end = from.offset;
  const finish = (newline: number): SplitLine => {
    lineNumber++;
    end += partBytes + overflowBytes + newline;
    let result: SplitLine;
    if (overflowBytes > 0) result = { line: lineNumber, end, tooLargeBytes: partBytes + overflowBytes };
    else {
      let bytes = Buffer.concat(parts, partBytes);
      if (bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, -1);
      // Bytes, not text: decoding (strict UTF-8, see decodeFhirJson) is the reader's.
      result = { line: lineNumber, end, bytes };
    }
    parts = [];
    partBytes = 0;
    overflowBytes = 0;
    return result;
  };
  const add = (piece: Buffer) => {
    if (overflowBytes > 0 || partBytes + piece.length > maxLineBytes) overflowBytes += piece.length;
    else {
      parts.push(piece);
      partBytes += piece.length;
    }
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) break;
      add(chunk.subarray(start, newline));
      yield finish(1);
      start = newline + 1;
    }
    if (start < chunk.length) add(Buffer.from(chunk.subarray(start)));
  }
  if (partBytes > 0 || overflowBytes > 0) yield finish(0);
}
