/**
 * Issue 19 item 6, measured before building it: the PostgreSQL event log as one table (today's schema) vs hash
 * partitioned by stream id, same columns and indexes. Appends synthea-79's resources (copies with fresh stream
 * ids) through PostgresEventStore.appendMany as ingestion does (batches of 500, two at a time), then reads the
 * whole log as a replay does (windows of 1000) and with a stream-prefix filter (the identity followers').
 *
 *   node -r @swc-node/register bench/partitioned-log.ts [--copies 4] [--partitions 8] [--data <synthea dir>]
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Pool } from 'pg';
import { AppendRequest, PostgresEventStore, START_OF_LOG } from '@fa/event-store';
import { ensureEmbeddedPostgres } from '@fa/platform';
import { createEmptyDatabase } from '@fa/testkit';
import { REPO } from './support/results';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

function partitionedSchema(partitions: number): string {
  const children = Array.from(
    { length: partitions },
    (_, r) =>
      `CREATE TABLE events_p${r} PARTITION OF events FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${r});`,
  );
  return `
CREATE TABLE events (
  global_position bigint GENERATED ALWAYS AS IDENTITY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id text NOT NULL,
  stream_revision integer NOT NULL,
  event_id uuid NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  recorded_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  PRIMARY KEY (stream_id, global_position),
  CONSTRAINT events_stream_revision_unique UNIQUE (stream_id, stream_revision),
  CONSTRAINT events_stream_event_id_unique UNIQUE (stream_id, event_id)
) PARTITION BY HASH (stream_id);
${children.join('\n')}`;
}

async function measure(
  serverUrl: string,
  resources: Record<string, unknown>[],
  copies: number,
  partitions?: number,
) {
  const { name, url } = await createEmptyDatabase(serverUrl, partitions ? 'bench_part' : 'bench_plain');
  const pool = new Pool({ connectionString: url, max: 4 });
  if (partitions) await pool.query(partitionedSchema(partitions));
  const store = new PostgresEventStore(pool);
  await store.migrate(); // creates streams and the global-order index; events exists already when partitioned
  const batches: AppendRequest[][] = [];
  for (let copy = 0; copy < copies; copy++) {
    for (let i = 0; i < resources.length; i += 500) {
      batches.push(
        resources.slice(i, i + 500).map((resource) => ({
          streamId: `${resource.resourceType as string}-${randomUUID()}`,
          events: [
            { id: randomUUID(), type: 'ResourceVersionRecorded', data: { resource }, metadata: { copy } },
          ],
          expectedRevision: 'no_stream' as const,
        })),
      );
    }
  }
  const events = batches.reduce((n, b) => n + b.length, 0);
  let next = 0;
  const started = Date.now();
  await Promise.all(
    [0, 1].map(async () => {
      while (next < batches.length) await store.appendMany(batches[next++]);
    }),
  );
  const appendSeconds = (Date.now() - started) / 1000;
  await pool.query('VACUUM ANALYZE');

  const read = async (streamPrefixes?: string[]) => {
    const from = Date.now();
    let after = START_OF_LOG;
    let scanned = 0;
    for (;;) {
      const window = await store.readAll({ after, maxCount: 1000, streamPrefixes });
      if (window.scanned === 0) break;
      scanned += window.scanned;
      after = window.lastPosition;
    }
    if (scanned !== events) throw new Error(`read ${scanned} of ${events}`);
    return scanned / ((Date.now() - from) / 1000);
  };
  const replayRate = await read();
  const filteredRate = await read(['Patient-']);
  const size = (
    await pool.query<{ s: string }>(`SELECT pg_size_pretty(pg_total_relation_size('events')) AS s`)
  ).rows[0].s;
  const partitionedSize = partitions
    ? (
        await pool.query<{ s: string }>(
          `SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) AS s FROM pg_inherits WHERE inhparent = 'events'::regclass`,
        )
      ).rows[0].s
    : size;
  await store.close();
  await pool.end();
  const admin = new Pool({ connectionString: serverUrl, max: 1 });
  await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await admin.end();
  return {
    layout: partitions ? `hash(stream_id) × ${partitions}` : 'one table',
    events,
    appendPerSecond: Math.round(events / appendSeconds),
    replayReadPerSecond: Math.round(replayRate),
    filteredReadPerSecond: Math.round(filteredRate),
    size: partitionedSize,
  };
}

async function main() {
  const copies = Number(arg('copies', '4'));
  const partitions = Number(arg('partitions', '8'));
  const dir = arg(
    'data',
    process.env.SYNTHEA_79_DIR ?? path.resolve(REPO, '..', 'shared', 'data', 'synthea-79'),
  );
  const resources: Record<string, unknown>[] = [];
  for (const name of (await fs.readdir(dir)).filter((n) => n.endsWith('.ndjson.gz')))
    for (const line of gunzipSync(await fs.readFile(path.join(dir, name)))
      .toString('utf8')
      .split('\n'))
      if (line.trim()) resources.push(JSON.parse(line) as Record<string, unknown>);
  const embedded = process.env.BENCH_DATABASE_URL
    ? undefined
    : await ensureEmbeddedPostgres(path.join(REPO, '.bench-data'));
  const serverUrl = process.env.BENCH_DATABASE_URL ?? embedded!.connectionString;
  const rows = [];
  // Alternated twice so a neighbour's load on the shared machine does not favour one layout.
  for (const layout of [undefined, partitions, undefined, partitions])
    rows.push(await measure(serverUrl, resources, copies, layout));
  console.table(rows);
  await embedded?.release();
}

void main();
