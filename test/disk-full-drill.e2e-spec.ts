import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { createEmptyDatabase } from '@fa/testkit';
import { runCli } from './support/aggregator-harness';
import { writeObservationCopies } from './support/drill-data';

const TOTAL = 12_000;
const BATCH = 500;
const SMALL = '12m';
const LARGE = '512m';

/**
 * Drill: the disk that holds the store fills up mid-ingest. The database lives in a tablespace on a small tmpfs
 * of its own, so PostgreSQL runs out of space there (SQLSTATE 53100) while the rest of the machine is fine.
 * Proves: ingestion stops with an error that says the disk is full, what was appended is whole batches
 * (nothing half-written), and once space returns the same command records exactly what is missing.
 *
 * Needs root (to mount the tmpfs) and the run's own embedded PostgreSQL (a tablespace is a directory on the
 * server's machine); elsewhere the drill is skipped and says why.
 */
function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  if (!existsSync(path.join(__dirname, '..', '.test-data', 'pg', 'PG_VERSION')))
    return 'needs the run’s embedded PostgreSQL (DATABASE_URL points elsewhere)';
  return undefined;
}
const reason = whyNot();
if (reason) console.warn(`disk-full drill skipped: ${reason}`);
const describeDrill = reason ? describe.skip : describe;

describeDrill('fault drill: the disk holding the store fills up', () => {
  const mountPoint = path.join(os.tmpdir(), `fa-disk-full-${process.pid}`);
  const serverUrl = process.env.DATABASE_URL!;
  let databaseName: string | undefined;
  let mounted = false;
  let input: string;

  const admin = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    await fs.mkdir(mountPoint, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SMALL},mode=0700`, 'tmpfs', mountPoint]);
    mounted = true;
    // The tablespace directory must belong to the user PostgreSQL runs as (the owner of its data directory).
    const owner = statSync(path.join(__dirname, '..', '.test-data', 'pg'));
    await fs.chown(mountPoint, owner.uid, owner.gid);
    input = path.join(os.tmpdir(), `fa-disk-full-${process.pid}.ndjson`);
    await writeObservationCopies(input, TOTAL, 'full-');
  });

  afterAll(async () => {
    await admin(async (client) => {
      if (databaseName) await client.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
      await client.query('DROP TABLESPACE IF EXISTS drill_full_disk');
    }).catch(() => undefined);
    if (mounted) execFileSync('umount', [mountPoint]);
    await fs.rm(mountPoint, { recursive: true, force: true });
    if (input) await fs.rm(input, { force: true });
  });

  it('stops with a disk-full error, leaves whole batches only, and the rerun records exactly what is missing once space returns', async () => {
    await admin((client) => client.query(`CREATE TABLESPACE drill_full_disk LOCATION '${mountPoint}'`));
    const { name } = await createEmptyDatabase(serverUrl, 'drill_full');
    databaseName = name;
    await admin((client) => client.query(`ALTER DATABASE ${name} SET TABLESPACE drill_full_disk`));
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const databaseUrl = url.toString();
    const ingest = () =>
      runCli(
        ['ingest', '--source', 'drill', '--batch-size', String(BATCH), '--concurrency', '1', input],
        databaseUrl,
      );

    const full = await ingest();
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(
      /the disk holding the database is full; free space and run the same command again/,
    );
    expect(full.stderr).toMatch(/No space left on device/);

    const count = (sql: string) =>
      admin(async () => {
        const client = new Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          return Number((await client.query<{ n: string }>(sql)).rows[0].n);
        } finally {
          await client.end();
        }
      });
    const recorded = () =>
      count(`SELECT count(*) AS n FROM events WHERE type = 'ResourceVersionRecorded'`).catch(() => 0);
    const before = await recorded();
    console.log(
      `disk-full drill: ${before} of ${TOTAL} recorded when the disk filled; the CLI said: ${full.stderr.trim().split('\n').pop()}`,
    );
    // Stopped part way, and only whole append transactions are there.
    expect(before).toBeLessThan(TOTAL);
    expect(before % BATCH).toBe(0);

    execFileSync('mount', ['-o', `remount,size=${LARGE}`, mountPoint]);
    const rerun = await ingest();
    expect([rerun.code, rerun.stderr.slice(-500)]).toEqual([0, expect.any(String)]);
    expect(await recorded()).toBe(TOTAL);
    expect(
      await count(
        `SELECT count(DISTINCT metadata->>'sourceId') AS n FROM events WHERE type = 'ResourceVersionRecorded'`,
      ),
    ).toBe(TOTAL);
    // The CLI drains the projections: every version is readable, once.
    expect(await count('SELECT count(*) AS n FROM fhir_store.resource_versions')).toBe(TOTAL);
  });
});
