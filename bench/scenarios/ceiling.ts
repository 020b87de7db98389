import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { freshDatabase } from '../support/datasets';
import { record, round } from '../support/results';

/** Bare ceiling: COPY rows of the same sizes into a table with only a primary key. */
export async function ceiling(serverUrl: string, data: { dir: string; resources: number }): Promise<number> {
  const url = await freshDatabase(serverUrl);
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(
    'CREATE TABLE bare (id bigserial PRIMARY KEY, stream_id text, data jsonb, metadata jsonb)',
  );
  const metadata = JSON.stringify({
    source: 'bench',
    origin: { file: { path: data.dir, line: 1 } },
    contentHash: 'x'.repeat(64),
  });
  const rows: string[] = [];
  for (const name of await fs.readdir(data.dir)) {
    for (const line of (await fs.readFile(path.join(data.dir, name), 'utf8')).split('\n')) {
      if (line.trim()) rows.push(`s-${rows.length}\t${line.replace(/\\/g, '\\\\')}\t${metadata}\n`);
    }
  }
  const started = process.hrtime.bigint();
  await pipeline(
    Readable.from(rows),
    client.query(copyFrom('COPY bare (stream_id, data, metadata) FROM STDIN')),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.end();
  const rate = rows.length / seconds;
  record('ceiling: COPY into a bare table (primary key only)', {
    rows: rows.length,
    seconds: round(seconds, 2),
    rowsPerSecond: Math.round(rate),
  });
  return rate;
}
