import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { createTestDatabaseFromFixture, type TestDatabase } from '@fa/testkit';
import { REPO_ROOT, runCli } from './cli-process';

/** The shared Synthea export (46,497 resources) that issue #2 names; CI checks it out beside the project. */
export const SYNTHEA_79 =
  process.env.SYNTHEA_79_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'data', 'synthea-79');
/** The source the synthea-79 store records it from. */
export const SYNTHEA_79_SOURCE = 'hospital-a';
export const SYNTHEA_79_RESOURCES = 46_497;

export function requireSynthea79(): void {
  if (!existsSync(SYNTHEA_79))
    throw new Error(
      `${SYNTHEA_79} is missing: place ../shared/data beside the project or set SYNTHEA_79_DIR`,
    );
}

/**
 * A database of its own holding synthea-79 as `cli ingest --source hospital-a` records it, every projection at
 * the head of the log. The ingest runs once per test run (the first suite to ask waits for it); every suite
 * gets a copy it may change. For suites that need the whole export stored, not the ingest itself under test
 * (test/synthea-79.e2e-spec.ts ingests for itself).
 */
export async function synthea79Database(poolSize: number, serverUrl?: string): Promise<TestDatabase> {
  requireSynthea79();
  return createTestDatabaseFromFixture('synthea79', ingestSynthea79, poolSize, serverUrl);
}

async function ingestSynthea79(url: string): Promise<void> {
  const ingest = await runCli(['ingest', '--source', SYNTHEA_79_SOURCE, SYNTHEA_79], url);
  const recorded = /recorded\s+(\d+)/.exec(ingest.stdout)?.[1];
  const rejected = /rejected\s+(\d+)/.exec(ingest.stdout)?.[1];
  if (ingest.code !== 0 || Number(recorded) !== SYNTHEA_79_RESOURCES || rejected !== '0')
    throw new Error(
      `the synthea-79 store could not be built: cli ingest exited ${ingest.code}, recorded ${recorded}, rejected ${rejected}: ${ingest.stderr.slice(-500)}`,
    );
}
