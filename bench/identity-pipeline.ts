import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Patient } from 'fhir/r4';
import { Pool } from 'pg';
import { openEventStore } from '@fa/event-store';
import { FhirStoreProjection } from '@fa/fhir-store';
import { aggregateIdOf, FileIngestionService } from '@fa/ingestion';
import {
  defaultComparators,
  FellegiSunterIdentityMatcher,
  fitParameters,
  identityFollowers,
  matchFeaturesOf,
  seededRandom,
  shuffled,
} from '@fa/patient-identity';
import {
  fakeNamesDataset,
  febrlDataset,
  linkOnlySplit,
  pairwiseAccuracy,
  RecordLinkageDataset,
  syntheticHouseholds,
  TwoSourceDataset,
} from '@fa/testkit';
import { createAggregatorApp } from '../apps/aggregator/src';

export const RECORD_LINKAGE_DIR =
  process.env.RECORD_LINKAGE_DATA ?? path.resolve(__dirname, '..', '..', 'shared', 'data', 'record-linkage');
const SOURCES: [string, string] = ['registry-a', 'registry-b'];
const SEED = 20240611;
/** The published batch figure the issue compares with (Splink, Febrl3, match probability 0.5). */
export const SPLINK_FEBRL3_F1 = 0.9929;

export interface IdentityAccuracy {
  dataset: string;
  records: number;
  autoPrecision: number;
  autoRecall: number;
  autoF1: number;
  allPrecision: number;
  allRecall: number;
  allF1: number;
  possibleLinks: number;
  /** Golden patients (automatic links only) holding more than one true person, counted once per extra person. */
  falseMerges: number;
  /** File source plus FHIR store projection (search index included), until queryable. */
  ingestPatientsPerSecond: number;
  /** The matching process manager and the identity projection over the recorded versions. */
  matchingPatientsPerSecond: number;
}

type Loaded = RecordLinkageDataset | TwoSourceDataset;
const febrl = (file: string) => async () => febrlDataset(await readData(file));

/**
 * Deduplication sets (records of one person spread over both sources at random), and link-only scenarios: two
 * sources without internal duplicates, each true cluster split across them (Febrl), and synthetic people in
 * households (twins, spouses, a shared home and phone).
 */
const DATASETS: { name: string; load: () => Promise<Loaded> }[] = [
  { name: 'febrl1', load: febrl('dataset1.csv') },
  { name: 'febrl2', load: febrl('dataset2.csv') },
  { name: 'febrl3', load: febrl('dataset3.csv') },
  { name: 'fake_1000', load: async () => fakeNamesDataset(await readData('fake_1000.csv')) },
  { name: 'febrl1-link', load: async () => linkOnlySplit(await febrl('dataset1.csv')(), SOURCES) },
  { name: 'febrl2-link', load: async () => linkOnlySplit(await febrl('dataset2.csv')(), SOURCES) },
  { name: 'febrl3-link', load: async () => linkOnlySplit(await febrl('dataset3.csv')(), SOURCES) },
  {
    name: 'households-link',
    load: async () => syntheticHouseholds({ households: 1000, seed: SEED, sources: SOURCES }),
  },
];

function readData(file: string): Promise<string> {
  return fs.readFile(path.join(RECORD_LINKAGE_DIR, file), 'utf8');
}

/**
 * Patient matching through the real pipeline: each record-linkage dataset becomes FHIR Patients over two
 * sources (at random, or as a link-only scenario places them), shuffled, written as NDJSON and ingested by the file source in alternating chunks; the matching
 * process manager then links them in the order they were recorded, each seeing only those before it. m/u come from EM on the dataset's own records (no truth);
 * the truth is read only to score the links the patient-identity projection holds at the end.
 */
export async function identityThroughPipeline(
  freshDatabase: () => Promise<string>,
  only?: string[],
): Promise<IdentityAccuracy[]> {
  const rows: IdentityAccuracy[] = [];
  for (const dataset of DATASETS.filter((d) => !only || only.includes(d.name))) {
    const loaded = await dataset.load();
    const { patients, truthClusterOf } = loaded;
    const sourceOf = 'sourceOf' in loaded ? loaded.sourceOf : undefined;
    const arrivals = shuffled(patients, seededRandom(SEED)).map((patient, i) => ({
      source: sourceOf?.get(patient.id!) ?? SOURCES[i % SOURCES.length],
      patient,
    }));
    const fitted = fitParameters(
      arrivals.map((a) => matchFeaturesOf(a.patient)),
      defaultComparators(),
      { seed: SEED },
    );
    const url = await freshDatabase();
    const matcher = new FellegiSunterIdentityMatcher(fitted.parameters);
    // Both phases run the same followers; the first holds the matcher back (not registered yet), so the
    // second measures matching alone over the recorded log, in the order the versions were recorded.
    const ingest = await ingestThroughFiles(url, arrivals);
    const runtime = await openEventStore(
      { databaseUrl: url, dataDir: '' },
      (store) => [new FhirStoreProjection(), ...identityFollowers(store, matcher)],
      { poolSize: 8, idleDelayMs: 5 },
    );
    try {
      const started = performance.now();
      await runtime.runner.drain();
      const matchingSeconds = (performance.now() - started) / 1000;
      rows.push({
        dataset: dataset.name,
        records: patients.length,
        ...(await score(url, arrivals, truthClusterOf)),
        ingestPatientsPerSecond: Math.round(patients.length / ingest.seconds),
        matchingPatientsPerSecond: Math.round(patients.length / matchingSeconds),
      });
    } finally {
      await runtime.close();
    }
  }
  return rows;
}

/**
 * Ingestion through the file source with the FHIR store projection live, in chunks that alternate between the
 * sources (keeping the shuffled arrival order across both).
 */
async function ingestThroughFiles(
  url: string,
  arrivals: { source: string; patient: Patient }[],
): Promise<{ seconds: number }> {
  const runtime = await openEventStore({ databaseUrl: url, dataDir: '' }, [new FhirStoreProjection()], {
    poolSize: 8,
    idleDelayMs: 5,
  });
  const app = await createAggregatorApp(runtime);
  await app.init();
  await runtime.runner.start();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-identity-bench-'));
  try {
    const chunkSize = 250;
    const chunks: { source: string; file: string }[] = [];
    for (let start = 0, n = 0; start < arrivals.length; start += chunkSize, n++) {
      for (const source of SOURCES) {
        const lines = arrivals
          .slice(start, start + chunkSize)
          .filter((a) => a.source === source)
          .map((a) => JSON.stringify(a.patient));
        const file = path.join(dir, `${String(n).padStart(4, '0')}-${source}.ndjson`);
        await fs.writeFile(file, lines.join('\n') + '\n');
        chunks.push({ source, file });
      }
    }
    const files = app.get(FileIngestionService);
    const started = performance.now();
    for (const chunk of chunks) {
      await files.ingest(chunk.source, [chunk.file], { ingestionInstance: 'bench' });
    }
    await runtime.runner.waitForCatchUp(30 * 60_000);
    return { seconds: (performance.now() - started) / 1000 };
  } finally {
    await app.close();
    await runtime.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function score(
  url: string,
  arrivals: { source: string; patient: Patient }[],
  truthClusterOf: Map<string, string>,
): Promise<
  Omit<IdentityAccuracy, 'dataset' | 'records' | 'ingestPatientsPerSecond' | 'matchingPatientsPerSecond'>
> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    const links = await pool.query<{ source_patient_id: string; golden_id: string; match_result: string }>(
      `SELECT source_patient_id, golden_id, match_result FROM patient_identity.links WHERE recorded_to IS NULL`,
    );
    const linkOf = new Map(links.rows.map((row) => [row.source_patient_id, row]));
    const auto = new Map<string, string>();
    const all = new Map<string, string>();
    let possibleLinks = 0;
    for (const { source, patient } of arrivals) {
      const link = linkOf.get(aggregateIdOf(source, 'Patient', patient.id!));
      const own = `unlinked:${patient.id}`;
      if (link?.match_result === 'POSSIBLE_MATCH') possibleLinks++;
      // A provisional link counts only in "auto + possible"; alone it is its own cluster.
      auto.set(patient.id!, link && link.match_result === 'MATCH' ? link.golden_id : own);
      all.set(patient.id!, link ? link.golden_id : own);
    }
    const truthsOf = new Map<string, Set<string>>();
    for (const [id, golden] of auto) {
      let truths = truthsOf.get(golden);
      if (!truths) truthsOf.set(golden, (truths = new Set()));
      truths.add(truthClusterOf.get(id)!);
    }
    const falseMerges = [...truthsOf.values()].reduce((sum, truths) => sum + truths.size - 1, 0);
    const a = pairwiseAccuracy(auto, truthClusterOf);
    const b = pairwiseAccuracy(all, truthClusterOf);
    return {
      autoPrecision: a.precision,
      autoRecall: a.recall,
      autoF1: a.f1,
      allPrecision: b.precision,
      allRecall: b.recall,
      allF1: b.f1,
      possibleLinks,
      falseMerges,
    };
  } finally {
    await pool.end();
  }
}
