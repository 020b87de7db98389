/**
 * Pairwise accuracy of a clustering against the truth, the measure record-linkage papers (and Splink's Febrl
 * figures) report: a pair of records is predicted linked when both are in one predicted cluster.
 */
export interface PairwiseAccuracy {
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

const pairsIn = (size: number) => (size * (size - 1)) / 2;

export function pairwiseAccuracy(
  predictedClusterOf: ReadonlyMap<string, string>,
  truthClusterOf: ReadonlyMap<string, string>,
): PairwiseAccuracy {
  const predictedSizes = new Map<string, number>();
  const trueSizes = new Map<string, number>();
  const jointSizes = new Map<string, number>();
  for (const [recordId, truth] of truthClusterOf) {
    const predicted = predictedClusterOf.get(recordId);
    if (predicted === undefined) throw new Error(`No predicted cluster for ${recordId}`);
    predictedSizes.set(predicted, (predictedSizes.get(predicted) ?? 0) + 1);
    trueSizes.set(truth, (trueSizes.get(truth) ?? 0) + 1);
    const joint = JSON.stringify([predicted, truth]);
    jointSizes.set(joint, (jointSizes.get(joint) ?? 0) + 1);
  }
  const sumPairs = (sizes: Map<string, number>) =>
    [...sizes.values()].reduce((sum, n) => sum + pairsIn(n), 0);
  const truePositives = sumPairs(jointSizes);
  const predictedPairs = sumPairs(predictedSizes);
  const truePairs = sumPairs(trueSizes);
  const precision = predictedPairs === 0 ? 1 : truePositives / predictedPairs;
  const recall = truePairs === 0 ? 1 : truePositives / truePairs;
  return {
    truePositives,
    falsePositives: predictedPairs - truePositives,
    falseNegatives: truePairs - truePositives,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
  };
}
