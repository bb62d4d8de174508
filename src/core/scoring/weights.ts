/**
 * Weight-based scoring: the criterion on each producer's kernel (or its BN scales), reduced over
 * the group's producers. No tfjs, no sample set: synchronous and fast enough to rescore on a click.
 */
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import type { LayerIR, ModelIR } from '../ir/model-ir';
import type { ChannelGraph, ChannelGroup } from '../graph/types';
import { ruleFor } from '../graph/layer-rules';
import { l1Norms, l2Norms } from './magnitude';
import { fpgmScores } from './fpgm';
import { groupBnScales } from './bn-scale';
import { randomScores } from './random';
import { reduceTerms } from './reduce';
import { isDataBased, type Criterion, type ScoreOptions } from './types';

/** The score of each output channel of one producer (its kernel's out axis), e.g. a Conv2D `[3,3,1,8]` kernel gives 8 norms. */
function producerScores(
  layer: LayerIR,
  artifacts: ModelArtifactsData,
  norms: (w: WeightTensor, axis: number) => Float32Array,
): Float32Array {
  const rule = ruleFor(layer.className);
  if (!rule?.scoredWeight || !rule.weights) throw new Error(`'${layer.name}' is not a producer layer.`);
  const ref = layer.weights.find((w) => w.role === rule.scoredWeight);
  const spec = rule
    .weights({ name: layer.name, className: layer.className, config: layer.config }, layer.inputShape)
    .find((s) => s.role === rule.scoredWeight);
  const axis = spec?.axes.findIndex((a) => a.kind === 'out') ?? -1;
  const w = ref && artifacts.weights[ref.weightIndex];
  if (!w || axis < 0) throw new Error(`Layer '${layer.name}' has no '${rule.scoredWeight}' weight to score.`);
  return norms(w, axis);
}

function kernelTerms(
  group: ChannelGroup,
  byName: ReadonlyMap<string, LayerIR>,
  artifacts: ModelArtifactsData,
  norms: (w: WeightTensor, axis: number) => Float32Array,
): Float32Array[] {
  const producers = group.producers.length > 0 ? group.producers : [group.producer];
  return producers.map((name) => {
    const layer = byName.get(name);
    if (!layer) throw new Error(`'${name}' is not a producer layer.`);
    return producerScores(layer, artifacts, norms);
  });
}

/**
 * Producers of the groups that have no BatchNorm scale (no BN, or BNs with `scale: false`), where
 * the `bn-scale` criterion falls back to the L1 norm of the kernels, so a UI can say so.
 * Example: Keras' InceptionV3 (every BN has `scale: false`) lists every group.
 */
export function bnScaleFallbacks(ir: ModelIR, artifacts: ModelArtifactsData, graph: ChannelGraph): string[] {
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  return graph.groups.filter((g) => groupBnScales(g, byName, artifacts).length === 0).map((g) => g.producer);
}

/**
 * Scores every group's channels with a weight-based criterion (higher = more important), keyed by
 * `group.producer`: the criterion on each producer's kernel, reduced over all producers of the
 * group (sum, mean or max, channel by channel; optionally with the group's BN scales as extra terms).
 * Example: a Conv2D 'c1' with kernel `[3, 3, 1, 8]` gives `{ c1: Float32Array(8) }`, entry j being
 * the norm of `kernel[:, :, :, j]`; Conv2DTranspose scores its `[kh, kw, out, in]` kernel on axis 2,
 * SeparableConv2D its pointwise kernel; a residual group of `a` and `b` gives `{a: l1(a) + l1(b)}`.
 * - `fpgm`: per producer, `sum over k of ||W_j - W_k||` (fpgm.ts), then reduced;
 * - `bn-scale`: `|gamma|` of each BN of the group, reduced over the BNs; a group with no BN scale
 *   falls back to `l1` (listed by `bnScaleFallbacks`; normalise before ranking globally, as the units differ);
 * - `random`: seeded uniform scores per group (`options.seed`), no reduction.
 * Data-based criteria throw here: use `scoreGroupsWithData`.
 */
export function scoreGroups(
  ir: ModelIR,
  artifacts: ModelArtifactsData,
  graph: ChannelGraph,
  criterion: Criterion,
  options: ScoreOptions = {},
): Record<string, Float32Array> {
  if (isDataBased(criterion)) {
    throw new Error(`The '${criterion}' criterion needs a sample set: use scoreGroupsWithData.`);
  }
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  const reduction = options.reduction ?? 'sum';
  const out: Record<string, Float32Array> = {};
  for (const g of graph.groups) {
    if (criterion === 'random') {
      out[g.producer] = randomScores(g.size, g.producer, options.seed ?? 0);
      continue;
    }
    let terms: Float32Array[];
    if (criterion === 'bn-scale') {
      terms = groupBnScales(g, byName, artifacts);
      if (terms.length === 0) terms = kernelTerms(g, byName, artifacts, l1Norms);
    } else {
      const norms = criterion === 'fpgm' ? fpgmScores : criterion === 'l2' ? l2Norms : l1Norms;
      terms = kernelTerms(g, byName, artifacts, norms);
      if (options.bnScale) terms.push(...groupBnScales(g, byName, artifacts));
    }
    out[g.producer] = reduceTerms(terms, reduction, g.size);
  }
  return out;
}
