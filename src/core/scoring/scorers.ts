/**
 * The criteria as one table, one entry per criterion: how each scores a group. Weight-based entries
 * score from the artifacts alone; data-based ones say how the model is run on a batch (`activations`:
 * a statistic per channel at every observation point; `taylor`: activation x gradient) and how the
 * per-channel sums become an importance. `weights.ts` and `data.ts` dispatch through it, so adding a
 * criterion is one entry here (and one menu row in `types.ts`; a test checks they agree).
 *
 * Example: `SCORERS.l1` is `{kind: 'weights', score}` whose `score` takes the L1 norm of every
 * producer's kernel slice and reduces them over the group; `SCORERS.apoz` is `{kind: 'data',
 * run: 'activations', stat: zerosPerChannel, importance: apozImportance}`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelArtifactsData } from '../ir/artifacts';
import type { LayerIR } from '../ir/model-ir';
import type { ChannelGroup } from '../graph/types';
import { apozImportance, zerosPerChannel } from './apoz';
import { groupBnScales } from './bn-scale';
import { fpgmScores } from './fpgm';
import { kernelTerms, type KernelNorm } from './kernels';
import { l1Norms, l2Norms } from './magnitude';
import { absSumPerChannel, meanActivationImportance } from './mean-activation';
import { randomScores } from './random';
import { reduceTerms } from './reduce';
import { taylorImportance } from './taylor';
import type { Criterion, ScoreOptions } from './types';

/** What a weight-based criterion reads: the model's layers by name and its decoded weights. */
export interface WeightContext {
  byName: ReadonlyMap<string, LayerIR>;
  artifacts: ModelArtifactsData;
}

/** A criterion computed from the weights alone (synchronous, no sample set). */
export interface WeightScorer {
  kind: 'weights';
  score(group: ChannelGroup, ctx: WeightContext, options: ScoreOptions): Float32Array;
}

/** A criterion computed by running the model on a sample set. */
export type DataScorer = {
  kind: 'data';
  /** Samples per forward pass when the caller does not say. */
  batchSize: number;
  /** Per-channel sums (of `count` values each) -> importance. */
  importance(sums: Float64Array, count: number): Float32Array;
} & (
  | {
      /** A per-channel statistic of the activation at each observation point, summed over the batch. */
      run: 'activations';
      stat(activation: tf.Tensor): tf.Tensor1D;
    }
  | {
      /** `sum of a * dL/da` per channel at each observation point (taylor.ts). */
      run: 'taylor';
    }
);

export type Scorer = WeightScorer | DataScorer;

/** A kernel norm on each producer, reduced over the group (plus its BN scales with `options.bnScale`). */
function kernelScorer(norms: KernelNorm): WeightScorer {
  return {
    kind: 'weights',
    score(g, { byName, artifacts }, options) {
      const terms = kernelTerms(g, byName, artifacts, norms);
      if (options.bnScale) terms.push(...groupBnScales(g, byName, artifacts));
      return reduceTerms(terms, options.reduction ?? 'sum', g.size);
    },
  };
}

/** The table: criterion -> how it scores. */
export const SCORERS: Readonly<Record<Criterion, Scorer>> = {
  l1: kernelScorer(l1Norms),
  l2: kernelScorer(l2Norms),
  fpgm: kernelScorer(fpgmScores),
  'bn-scale': {
    kind: 'weights',
    // |gamma| of each BN of the group; L1 of the kernels where the group has no BN scale.
    score(g, { byName, artifacts }, options) {
      const bn = groupBnScales(g, byName, artifacts);
      const terms = bn.length > 0 ? bn : kernelTerms(g, byName, artifacts, l1Norms);
      return reduceTerms(terms, options.reduction ?? 'sum', g.size);
    },
  },
  random: {
    kind: 'weights',
    score: (g, _ctx, options) => randomScores(g.size, g.producer, options.seed ?? 0),
  },
  apoz: {
    kind: 'data',
    batchSize: 16,
    run: 'activations',
    stat: zerosPerChannel,
    importance: apozImportance,
  },
  'mean-activation': {
    kind: 'data',
    batchSize: 16,
    run: 'activations',
    stat: absSumPerChannel,
    importance: meanActivationImportance,
  },
  taylor: { kind: 'data', batchSize: 8, run: 'taylor', importance: taylorImportance },
};

/** The table's entry for a criterion; an id outside the table is refused by name. */
export function scorerOf(criterion: Criterion): Scorer {
  const scorer = Object.prototype.hasOwnProperty.call(SCORERS, criterion) ? SCORERS[criterion] : undefined;
  if (!scorer) throw new Error(`Unknown criterion '${String(criterion)}'.`);
  return scorer;
}
