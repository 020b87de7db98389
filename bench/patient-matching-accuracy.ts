import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Patient } from 'fhir/r4';
import { defaultComparators } from '@fa/patient-identity';
import { matchFeaturesOf } from '@fa/patient-identity';
import { FellegiSunterModel } from '@fa/patient-identity';
import { fitParameters } from '@fa/patient-identity';
import { OnlineMatcher } from '@fa/patient-identity';
import { clustersOfLinks, pairwiseAccuracy, type PairwiseAccuracy } from '@fa/patient-identity';
import { fakeNamesDataset, febrlDataset, type RecordLinkageDataset } from '@fa/patient-identity';
import { seededRandom, shuffled } from '@fa/patient-identity';
import type { MatchThresholds } from '@fa/patient-identity';

/**
 * Offline accuracy of the online patient matcher on public record-linkage data with ground truth.
 * Per dataset: Patients split over two sources, shuffled (fixed seed), m/u/prior fitted by EM on the
 * dataset's own unlabeled blocked pairs, then matched one record at a time in that order. The truth is read
 * only to score the result.
 * Run: node -r @swc-node/register bench/patient-matching-accuracy.ts [--explain] [--seed=N] [--no-merge]
 */
const DATA_DIR =
  process.env.RECORD_LINKAGE_DATA ?? path.resolve(__dirname, '../../shared/data/record-linkage');
const SEED = Number(argument('seed') ?? 20240611);
const MERGE_GOLDENS = !process.argv.includes('--no-merge');
const SOURCES = ['urn:fa:source:a', 'urn:fa:source:b'];
const THRESHOLDS: MatchThresholds = { scale: 'probability', match: 0.99, possibleMatch: 0.5 };
const SPLINK_FEBRL3 = { precision: 0.9997, recall: 0.9862, f1: 0.9929 };

function argument(name: string): string | undefined {
  return process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const DATASETS: { name: string; load: () => RecordLinkageDataset }[] = [
  { name: 'febrl1', load: () => febrlDataset(read('dataset1.csv')) },
  { name: 'febrl2', load: () => febrlDataset(read('dataset2.csv')) },
  { name: 'febrl3', load: () => febrlDataset(read('dataset3.csv')) },
  { name: 'fake_1000', load: () => fakeNamesDataset(read('fake_1000.csv')) },
];

function read(file: string): string {
  return readFileSync(path.join(DATA_DIR, file), 'utf8');
}

/** Alternating records between two sources, as if two systems fed the aggregator. */
function splitAcrossSources(patients: Patient[]): Patient[] {
  return patients.map((patient, i) => ({ ...patient, meta: { source: SOURCES[i % SOURCES.length] } }));
}

interface Row {
  dataset: string;
  records: number;
  truePairs: number;
  auto: PairwiseAccuracy;
  autoAndPossible: PairwiseAccuracy;
  possibleLinks: number;
  patientsPerSecond: number;
  fitSeconds: number;
}

function run(name: string, dataset: RecordLinkageDataset, explain: boolean): Row {
  const arrivals = shuffled(splitAcrossSources(dataset.patients), seededRandom(SEED));
  const comparators = defaultComparators();

  const fitStarted = performance.now();
  const fit = fitParameters(arrivals.map(matchFeaturesOf), comparators, { seed: SEED });
  const fitSeconds = (performance.now() - fitStarted) / 1000;
  const model = new FellegiSunterModel(comparators, fit.parameters);
  if (explain) printModel(name, fit, model);

  const matcher = new OnlineMatcher(model, { thresholds: THRESHOLDS, mergeGoldens: MERGE_GOLDENS });
  const autoLinks: [string, string][] = [];
  let possibleLinks = 0;
  const started = performance.now();
  for (const patient of arrivals) {
    const id = patient.id as string;
    const { decision, mergedGoldenIds } = matcher.process(id, matchFeaturesOf(patient));
    if (decision.outcome === 'MATCH') autoLinks.push([id, decision.matchedRecordId as string]);
    for (const other of decision.otherGoldens) {
      if (mergedGoldenIds.includes(other.goldenId)) autoLinks.push([id, other.recordId]);
    }
    if (decision.outcome === 'POSSIBLE_MATCH') possibleLinks++;
  }
  const seconds = (performance.now() - started) / 1000;

  const ids = arrivals.map((patient) => patient.id as string);
  const goldenOf = new Map(ids.map((id) => [id, matcher.goldenOf(id) as string]));
  const auto = pairwiseAccuracy(clustersOfLinks(ids, autoLinks), dataset.truthClusterOf);
  const autoAndPossible = pairwiseAccuracy(goldenOf, dataset.truthClusterOf);
  return {
    dataset: name,
    records: ids.length,
    truePairs: auto.truePositives + auto.falseNegatives,
    auto,
    autoAndPossible,
    possibleLinks,
    patientsPerSecond: ids.length / seconds,
    fitSeconds,
  };
}

function printModel(name: string, fit: ReturnType<typeof fitParameters>, model: FellegiSunterModel): void {
  console.log(
    `\n${name}: ${fit.blockedPairs} blocked pairs, EM ${fit.iterations} iterations (converged ${fit.converged}), ` +
      `expected matches ${fit.expectedMatches.toFixed(0)}, prior ${fit.parameters.priorMatchProbability.toExponential(2)} ` +
      `(${model.priorWeight.toFixed(2)} bits)`,
  );
  for (const field of fit.parameters.fields) {
    const levels = field.levels.map((level, i) => {
      const weight = Math.log2(field.m[i] / field.u[i]);
      return `${level} m=${field.m[i].toFixed(3)} u=${field.u[i].toExponential(1)} w=${weight.toFixed(1)}`;
    });
    console.log(`  ${field.field.padEnd(12)} ${levels.join(' | ')}`);
  }
}

const f = (n: number) => n.toFixed(4);

function main(): void {
  const explain = process.argv.includes('--explain');
  const rows = DATASETS.map(({ name, load }) => run(name, load(), explain));
  console.log(
    `\nOnline matching, seed ${SEED}, thresholds MATCH p>=${THRESHOLDS.match}, ` +
      `POSSIBLE_MATCH p>=${THRESHOLDS.possibleMatch}, golden merges ${MERGE_GOLDENS ? 'on' : 'off'}`,
  );
  console.log(
    'dataset    records true-pairs | auto P   auto R   auto F1 | +poss P  +poss R  +poss F1 | possible  patients/s  fit s',
  );
  for (const row of rows) {
    console.log(
      [
        row.dataset.padEnd(10),
        String(row.records).padStart(7),
        String(row.truePairs).padStart(10),
        '|',
        f(row.auto.precision),
        f(row.auto.recall),
        f(row.auto.f1),
        '|',
        f(row.autoAndPossible.precision),
        f(row.autoAndPossible.recall),
        f(row.autoAndPossible.f1),
        ' |',
        String(row.possibleLinks).padStart(8),
        row.patientsPerSecond.toFixed(0).padStart(11),
        row.fitSeconds.toFixed(1).padStart(6),
      ].join(' '),
    );
  }
  const febrl3 = rows.find((row) => row.dataset === 'febrl3');
  if (febrl3) {
    const beats = febrl3.auto.f1 > SPLINK_FEBRL3.f1 && febrl3.auto.precision >= 0.999;
    console.log(
      `\nfebrl3 auto-link F1 ${f(febrl3.auto.f1)} (P ${f(febrl3.auto.precision)}) vs Splink batch F1 ` +
        `${SPLINK_FEBRL3.f1} (P ${SPLINK_FEBRL3.precision}): ${beats ? 'target met' : 'target NOT met'}`,
    );
  }
}

main();
