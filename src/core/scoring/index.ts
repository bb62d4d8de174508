/**
 * Importance scores per channel of each group (higher = keep, lower = prune first). One file per
 * criterion; `weights.ts` scores from kernels alone, `data.ts` from running the model on a sample
 * set; `normalize.ts` makes scores of different layers comparable for a global ranking.
 *
 * Example: `scoreGroups(ir, artifacts, graph, 'l1')` gives `{conv1: Float32Array(8), ...}`, keyed by
 * each group's `producer`; `await scoreGroupsWithData(model, ir, artifacts, graph, 'taylor', set)`
 * the same shape from 'taylor'; `normalizeScores(scores, 'lamp')` then feeds `planGlobal`.
 */
export {
  CRITERIA,
  isDataBased,
  type Criterion,
  type CriterionInfo,
  type DataScoreOptions,
  type GroupReduction,
  type ScoreOptions,
  type ScoringSamples,
} from './types';
export { SCORERS, scorerOf, type Scorer } from './scorers';
export { l1Norms, l2Norms, type WeightValues } from './magnitude';
export { fpgmScores } from './fpgm';
export { bnScales, groupBnScales } from './bn-scale';
export { randomScores } from './random';
export { reduceTerms } from './reduce';
export { bnScaleFallbacks, scoreGroups } from './weights';
export { scoreGroupsWithData } from './data';
export { observationPoints, runLayers, type LayerHook, type ObservationPoint } from './observe';
export { outputKind, crossEntropySum, type OutputKind } from './taylor';
export {
  NORMALIZATIONS,
  lampNormalize,
  meanNormalize,
  normalizeScores,
  type Normalization,
} from './normalize';
