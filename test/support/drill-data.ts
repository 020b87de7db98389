import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Pool } from 'pg';
import { FileIngestionService } from '@fa/ingestion';
import { eventually } from '@fa/testkit';
import { AggregatorHarness, FIXTURES } from './aggregator-harness';

const OBSERVATIONS = path.join(FIXTURES, 'synthea-2-patients', 'Observation.ndjson');

/** Writes `total` Observations (the fixture's, over and over) with ids `<idPrefix><n>` as NDJSON to `file`. */
export async function writeObservationCopies(file: string, total: number, idPrefix: string): Promise<void> {
  const template = (await fs.readFile(OBSERVATIONS, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  await fs.writeFile(
    file,
    Array.from({ length: total }, (_, i) =>
      JSON.stringify({ ...template[i % template.length], id: `${idPrefix}${i}` }),
    ).join('\n'),
  );
}

/** A `SELECT count(*) AS n …` as a number. */
export const counter = (pool: Pool) => async (sql: string) =>
  Number((await pool.query<{ n: string }>(sql)).rows[0].n);

/**
 * What "exactly once" is measured by for one source: its ResourceVersionRecorded events, streams with more than
 * one event, the read model's version rows and their distinct event ids.
 */
export async function appliedOnce(pool: Pool, source: string) {
  const count = counter(pool);
  return {
    events: await count(
      `SELECT count(*) AS n FROM events WHERE type = 'ResourceVersionRecorded' AND metadata->>'source' = '${source}'`,
    ),
    duplicated: await count(
      `SELECT count(*) AS n FROM (SELECT stream_id FROM events WHERE metadata->>'source' = '${source}' GROUP BY stream_id HAVING count(*) > 1) d`,
    ),
    rows: await count(
      `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = '${source}'`,
    ),
    distinctEvents: await count(
      `SELECT count(DISTINCT event_id) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = '${source}'`,
    ),
  };
}

/**
 * The outage drill both PostgreSQL faults share: ingest `total` Observations from `file` as `source`; once the
 * projection is part way, take PostgreSQL away (`fault.takeAway`); a search must then be a 503 transient
 * OperationOutcome (`fault.whileAway` may check more); bring it back (`fault.bringBack`); rerun the ingest until
 * it succeeds, catch up, and require every event recorded once and applied once. Returns what the log line says.
 */
export async function outageDrill(
  harness: AggregatorHarness,
  input: { file: string; source: string; total: number },
  fault: { takeAway(): Promise<void>; whileAway?(): Promise<void>; bringBack(): Promise<void> },
): Promise<{ projectedAtFault: number; firstIngest: string }> {
  const count = counter(harness.database.pool);
  const projected = () => count('SELECT count(*) AS n FROM fhir_store.resource_versions').catch(() => 0);
  const ingest = () =>
    harness.app
      .get(FileIngestionService)
      .ingest(input.source, [input.file], { ingestionInstance: `${input.source}-drill` });
  const first = ingest().then(
    () => 'completed',
    (error: Error) => `failed: ${error.message}`,
  );
  const projectedAtFault = await eventually(projected, (n) => n >= 300, 60_000);
  await fault.takeAway();
  // Taken away while the projection was part way: the drill is about resuming, not about starting.
  expect(projectedAtFault).toBeLessThan(input.total);
  const search = await harness.http().get('/fhir/Observation?code=http://loinc.org|8302-2');
  expect(search.status).toBe(503);
  expect(search.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
  await fault.whileAway?.();
  const firstIngest = await first;
  await fault.bringBack();
  // The CLI would say the ingest failed and be run again; the rerun records only what is missing.
  await eventually(
    () =>
      ingest().then(
        () => true,
        () => false,
      ),
    (done) => done,
    60_000,
  );
  await harness.runtime.runner.waitForCatchUp(120_000);
  // Every event recorded once and applied once by the read model: one version row per event.
  expect(await appliedOnce(harness.database.pool, input.source)).toEqual({
    events: input.total,
    duplicated: 0,
    rows: input.total,
    distinctEvents: input.total,
  });
  const after = await harness.http().get('/fhir/Observation?_summary=count');
  expect(after.status).toBe(200);
  expect(after.body.total).toBe(input.total);
  return { projectedAtFault, firstIngest };
}
