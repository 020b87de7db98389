import type { Bundle } from 'fhir/r4';
import { FACT_LINKS_PROJECTION, FACT_MATCHING_PROCESSOR, FACT_SOURCES_EXTENSION } from '@fa/clinical';
import { logFollowers } from '@fa/composition';
import { openEventStore } from '@fa/event-store';
import { aggregateIdOf, FileIngestionService } from '@fa/ingestion';
import { clinicalSources, ClinicalSources, ipsDocumentProblems, scoreFactLinks } from '@fa/testkit';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { freshDatabase } from '../support/datasets';
import { originOf } from '../support/load';
import { percentile, record, round } from '../support/results';

const CLINICAL_FOLLOWERS = new Set([FACT_MATCHING_PROCESSOR, FACT_LINKS_PROJECTION]);

/**
 * Clinical fact matching over the whole export as two overlapping sources (hospital-a: everything; clinic-b: a
 * seeded subset of its clinical resources, re-expressed) plus a source with no overlap (synthea-13): same-fact
 * links against the generator's ground truth per type, facts/s through the pipeline with the ingest-and-drain time
 * of the same data without the clinical followers as the baseline, facts/s of the clinical followers alone
 * catching up over that baseline's log, $summary of every patient (well-formed, p50/p95)
 * and the de-duplicated $everything of every golden patient against the truth's count.
 */
export async function clinical(serverUrl: string, dataDir: string, otherSourceDir: string) {
  const sources = await clinicalSources({ dataDir, everything: true, seed: 5 });
  try {
    const baseline = await ingestBoth(serverUrl, sources, otherSourceDir, false);
    await baseline.close();
    // The matcher alone: the clinical followers added to that store, over its whole log (the others are at its head).
    const catchUp = await openEventStore(
      { databaseUrl: baseline.url, dataDir: '' },
      (store) => logFollowers(store),
      { poolSize: 12, idleDelayMs: 10 },
    );
    const started = process.hrtime.bigint();
    await catchUp.runner.start();
    await catchUp.runner.waitForCatchUp(60 * 60_000);
    const matcherSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await catchUp.close();
    const run = await ingestBoth(serverUrl, sources, otherSourceDir, true);
    try {
      const facts = sources.counts.hospital + sources.counts.clinic;
      const { rows } = await run.pool.query<{ aKey: string; bKey: string }>(
        `SELECT a_key AS "aKey", b_key AS "bKey" FROM clinical_facts.fact_links WHERE recorded_to IS NULL`,
      );
      const figures: Record<string, number | string> = {
        clinicalFacts: facts,
        truthPairs: sources.truth.length,
        linksFound: rows.length,
        nearMisses: sources.nearMisses.length,
        nearMissesLinked: sources.nearMisses.filter((m) =>
          rows.some((l) =>
            [l.aKey, l.bKey].includes(
              `${m.resourceType}/${aggregateIdOf('clinic-b', m.resourceType, m.clinicId)}`,
            ),
          ),
        ).length,
        secondsWithClinical: round(run.seconds, 1),
        baselineSecondsWithout: round(baseline.seconds, 1),
        ratioToBaseline: round(run.seconds / baseline.seconds, 2),
        factsPerSecond: round(facts / run.seconds, 0),
        matcherCatchUpSeconds: round(matcherSeconds, 1),
        matcherFactsPerSecond: round(facts / matcherSeconds, 0),
      };
      for (const [type, score] of [...scoreFactLinks(sources.truth, rows)].sort()) {
        figures[`${type} precision`] = round(score.precision, 4);
        figures[`${type} recall`] = round(score.recall, 4);
      }
      record('clinical matching (synthea-79 x2 + synthea-13)', figures);
      await summariesAndDedup(run.origin, run.pool, sources);
    } finally {
      await run.close();
    }
  } finally {
    await sources.close();
  }
}

async function ingestBoth(
  serverUrl: string,
  sources: ClinicalSources,
  otherDir: string,
  withClinical: boolean,
) {
  const url = await freshDatabase(serverUrl);
  const runtime = await openEventStore(
    { databaseUrl: url, dataDir: '' },
    (store) => logFollowers(store).filter((f) => withClinical || !CLINICAL_FOLLOWERS.has(f.name)),
    { poolSize: 12, idleDelayMs: 10 },
  );
  // Measured without tokens, as the other store benches: the auth scenario measures what the checks add.
  const app = await createAggregatorApp(runtime, { auth: { enabled: false } });
  await app.init();
  await runtime.runner.start();
  const files = app.get(FileIngestionService);
  const started = process.hrtime.bigint();
  for (const [source, dir] of [
    ['hospital-a', sources.hospitalDir],
    ['clinic-b', sources.clinicDir],
    ['clinic-c', otherDir],
  ]) {
    await files.ingest(source, [dir], { ingestionInstance: 'bench' });
  }
  await runtime.runner.waitForCatchUp(60 * 60_000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    seconds,
    url,
    pool: runtime.database.pool,
    origin: await originOf(app),
    close: async () => {
      await app.close();
      await runtime.close();
    },
  };
}

async function summariesAndDedup(
  origin: string,
  pool: { query: <R>(sql: string) => Promise<{ rows: R[] }> },
  sources: ClinicalSources,
) {
  const { rows } = await pool.query<{ golden_id: string; source_patient_id: string }>(
    `SELECT golden_id, source_patient_id FROM patient_identity.links WHERE recorded_to IS NULL`,
  );
  const goldenOf = new Map(rows.map((r) => [r.source_patient_id, r.golden_id]));
  const patients = sources.hospitalPatients.map((id) => aggregateIdOf('hospital-a', 'Patient', id));
  const goldens = [...new Set(patients.map((id) => goldenOf.get(id)!).filter(Boolean))];
  const timings: number[] = [];
  let wellFormed = 0;
  let items = 0;
  for (const id of [...patients, ...goldens]) {
    const started = process.hrtime.bigint();
    const response = await fetch(`${origin}/fhir/Patient/${id}/$summary`);
    const bundle = (await response.json()) as Bundle;
    timings.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (response.status === 200 && ipsDocumentProblems(bundle, id, FACT_SOURCES_EXTENSION).length === 0)
      wellFormed++;
    items += bundle.entry?.length ?? 0;
  }
  timings.sort((a, b) => a - b);
  const truthKeys = sources.truth.map((t) => [
    `${t.resourceType}/${aggregateIdOf('hospital-a', t.resourceType, t.hospitalId)}`,
    `${t.resourceType}/${aggregateIdOf('clinic-b', t.resourceType, t.clinicId)}`,
  ]);
  let equal = 0;
  const dedupTimings: number[] = [];
  for (const golden of goldens) {
    const keys = await everyKey(origin, `/fhir/Patient/${golden}/$everything?_count=1000`);
    const expected = keys.size - truthKeys.filter(([a, b]) => keys.has(a) && keys.has(b)).length;
    const started = process.hrtime.bigint();
    const dedup = (await (
      await fetch(`${origin}/fhir/Patient/${golden}/$everything?dedup=true&_count=0`)
    ).json()) as Bundle;
    dedupTimings.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (dedup.total === expected) equal++;
  }
  dedupTimings.sort((a, b) => a - b);
  record('clinical $summary and dedup $everything (synthea-79)', {
    summaries: timings.length,
    wellFormedSummaries: wellFormed,
    summaryEntries: items,
    summaryP50Ms: round(percentile(timings, 50), 1),
    summaryP95Ms: round(percentile(timings, 95), 1),
    goldenPatients: goldens.length,
    dedupTotalEqualToTruth: equal,
    dedupP50Ms: round(percentile(dedupTimings, 50), 1),
    dedupP95Ms: round(percentile(dedupTimings, 95), 1),
  });
}

/** Every resource of a paged answer, following its next links. */
async function everyKey(origin: string, url: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let next: string | undefined = origin + url;
  while (next) {
    const page = (await (await fetch(next)).json()) as Bundle;
    for (const e of page.entry ?? []) keys.add(`${e.resource!.resourceType}/${e.resource!.id}`);
    next = page.link?.find((l) => l.relation === 'next')?.url;
  }
  return keys;
}
