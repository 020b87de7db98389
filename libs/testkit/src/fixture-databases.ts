import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Fixture databases: a store that takes long to build (a whole export ingested and projected) is built once per
 * test run, the first time a suite asks for it, and each suite that asks gets a copy of its own
 * (`CREATE DATABASE … TEMPLATE`: seconds instead of the ingest). A suite may change its copy freely.
 * The fixture is named per run (`fixture_<name>_<run>`, the run from FIXTURE_RUN_ENV, set by the global setup)
 * and dropped by the global teardown, so a run never reuses what an older build of the code made.
 * Imports only `pg`: the global setup and teardown load it before Jest's module mapping applies.
 */
export const FIXTURE_RUN_ENV = 'FA_TEST_RUN';

/** Called by the global setup: this run's id, which names its fixtures. */
export function startFixtureRun(): void {
  process.env[FIXTURE_RUN_ENV] = `${process.pid}_${randomBytes(3).toString('hex')}`;
}

function fixtureName(name: string): string {
  const run = process.env[FIXTURE_RUN_ENV];
  if (!run)
    throw new Error(`${FIXTURE_RUN_ENV} is not set: run the tests through jest (the global setup sets it)`);
  return `fixture_${name}_${run}`;
}

/**
 * A new database `<prefix>_<random>` copied from the run's fixture `name`; the fixture is built first by
 * `build(url)` on an empty database if no suite of the run has built it yet (parallel workers wait on an advisory
 * lock, so it is built once). `build` must close every connection it opened before it returns.
 */
export async function copyOfFixture(
  serverUrl: string,
  name: string,
  build: (url: string) => Promise<void>,
  prefix = 'test',
): Promise<{ name: string; url: string }> {
  const fixture = fixtureName(name);
  const copy = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', [fixture]);
    try {
      const found = await admin.query<{ done: boolean }>(
        'SELECT datistemplate AS done FROM pg_database WHERE datname = $1',
        [fixture],
      );
      if (!found.rows[0]?.done) {
        // A fixture that is not marked a template is what a failed build left: built again from empty.
        await admin.query(`DROP DATABASE IF EXISTS ${fixture} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${fixture}`);
        await build(urlOf(serverUrl, fixture));
        await admin.query(`ALTER DATABASE ${fixture} IS_TEMPLATE true`);
      }
    } finally {
      await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [fixture]);
    }
    // The default strategy (WAL_LOG, about 2 s for synthea-79's 0.5 GB) needs no checkpoint, which a suite filling
    // a tablespace on purpose (the disk-full drill) could make fail.
    await admin.query(`CREATE DATABASE ${copy} TEMPLATE ${fixture}`);
  } finally {
    await admin.end();
  }
  return { name: copy, url: urlOf(serverUrl, copy) };
}

/** Called by the global teardown: drops this run's fixtures (or, everyRun, every run's: see the global setup). */
export async function dropFixtures(serverUrl: string, options: { everyRun?: boolean } = {}): Promise<void> {
  const run = options.everyRun ? '%' : process.env[FIXTURE_RUN_ENV];
  if (!run) return;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'fixture\\_%\\_' || $1`,
      [run],
    );
    for (const { datname } of rows) {
      await admin.query(`ALTER DATABASE ${datname} IS_TEMPLATE false`);
      await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

function urlOf(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
