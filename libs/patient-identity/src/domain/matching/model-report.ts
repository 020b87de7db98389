import { log2BayesFactor, type FellegiSunterParameters } from './fellegi-sunter';

export interface LevelWeight {
  readonly field: string;
  readonly level: string;
  readonly m: number;
  readonly u: number;
  /** log2(m/u): the evidence this level adds, in bits. */
  readonly weight: number;
}

/** Every field's levels with m, u and weight: what `cli identity-fit` prints after fitting. */
export function levelWeightsOf(parameters: FellegiSunterParameters): LevelWeight[] {
  return parameters.fields.flatMap((field) =>
    field.levels.map((level, i) => ({
      field: field.field,
      level,
      m: field.m[i],
      u: field.u[i],
      weight: log2BayesFactor(field.m[i], field.u[i]),
    })),
  );
}

/** A table of every level's m, u and weight, one line each, as `cli identity-fit` prints it. */
export function formatLevelWeights(levels: readonly LevelWeight[]): string {
  const header = `${'field'.padEnd(12)} ${'level'.padEnd(26)} ${'m'.padStart(10)} ${'u'.padStart(10)} ${'weight (bits)'.padStart(14)}\n`;
  return (
    header +
    levels
      .map(
        (l) =>
          `${l.field.padEnd(12)} ${l.level.padEnd(26)} ${l.m.toExponential(3).padStart(10)} ${l.u.toExponential(3).padStart(10)} ${l.weight.toFixed(2).padStart(14)}\n`,
      )
      .join('')
  );
}
