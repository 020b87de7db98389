import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { defaultComparators, fitParameters, levelWeightsOf, matchFeaturesOf } from '@fa/patient-identity';
import { febrlDataset, syntheticHouseholds } from '@fa/testkit';
import { RECORD_LINKAGE_DIR } from './identity-pipeline';

/**
 * Refits the shipped matching model (libs/patient-identity/src/domain/default-model.json) the way
 * `cli identity-fit` fits a deployment's, without labels: on the public Febrl 1–3 records and 1,500 synthetic
 * households (twins, spouses, a shared home and phone), so its household weights know that members of one
 * home agree on family name, address and phone. Run: node -r @swc-node/register bench/fit-shipped-model.ts
 */
async function main() {
  const patients = [
    ...(
      await Promise.all(
        ['dataset1.csv', 'dataset2.csv', 'dataset3.csv'].map(async (file, i) =>
          febrlDataset(await fs.readFile(path.join(RECORD_LINKAGE_DIR, file), 'utf8'), `f${i + 1}-`),
        ),
      )
    ).flatMap((dataset) => dataset.patients),
    ...syntheticHouseholds({ households: 1500, seed: 1 }).patients,
  ];
  const fit = fitParameters(patients.map(matchFeaturesOf), defaultComparators(), { seed: 1 });
  const out = path.resolve(
    __dirname,
    '..',
    'libs',
    'patient-identity',
    'src',
    'domain',
    'default-model.json',
  );
  await fs.writeFile(out, JSON.stringify(fit.parameters) + '\n');
  for (const level of levelWeightsOf(fit.parameters)) {
    console.log(
      `${level.field} ${level.level}: m ${level.m.toPrecision(3)} u ${level.u.toPrecision(3)} ${level.weight.toFixed(2)} bits`,
    );
  }
  console.log(
    `${patients.length} records, prior ${fit.parameters.priorMatchProbability.toPrecision(3)} -> ${out}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
