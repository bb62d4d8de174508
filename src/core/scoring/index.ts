/**
 * Importance scores per channel of each group. One file per criterion; this module picks the
 * criterion, finds the right weight and axis from the rules table, and reduces over the group's layers.
 */
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import type { LayerIR, ModelIR } from '../ir/model-ir';
import type { ChannelGraph, ChannelGroup, GroupMember } from '../graph/types';
import { ruleFor } from '../graph/layer-rules';
import { memberIndices } from '../graph/build-graph';
import { l1Norms, l2Norms } from './magnitude';

export { l1Norms, l2Norms } from './magnitude';

/** A scoring criterion: `l1` = sum |W_j|, `l2` = sqrt(sum W_j^2) over filter j's kernel entries. */
export type Criterion = 'l1' | 'l2';

/** The criteria, for menus and `--criterion`. */
export const CRITERIA: readonly { id: Criterion; label: string; description: string }[] = [
  { id: 'l1', label: 'L1 norm', description: "Sum of a filter's absolute kernel weights (Li et al. 2017)." },
  { id: 'l2', label: 'L2 norm', description: "Square root of the sum of a filter's squared kernel weights." },
];

/** How a group's score combines its layers' scores, channel by channel. */
export type GroupReduction = 'sum' | 'mean' | 'max';

/** Options of `scoreGroups`. */
export interface ScoreOptions {
  /** How the criterion is combined over the group's producers (and BN scales): default `'sum'`. */
  reduction?: GroupReduction;
  /**
   * Also count `|gamma|` of every BatchNormalization in the group (Network Slimming's scale factor,
   * Liu et al. ICCV 2017) as one more term of the reduction. Default false.
   */
  bnScale?: boolean;
}

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

/** `|gamma|` of a BN member per group channel (summed over a depthwise multiplier / every slot), or undefined without a gamma. */
function bnScales(
  group: ChannelGroup,
  member: GroupMember,
  layer: LayerIR,
  artifacts: ModelArtifactsData,
): Float32Array | undefined {
  const ref = layer.weights.find((w) => w.role === 'gamma');
  const gamma = ref && artifacts.weights[ref.weightIndex];
  if (!gamma || gamma.shape.length !== 1) return undefined;
  const out = new Float32Array(group.size);
  for (let g = 0; g < group.size; g++) {
    let s = 0;
    for (const i of memberIndices(group, member, [g])) s += Math.abs(gamma.values[i] ?? 0);
    out[g] = s;
  }
  return out;
}

/**
 * Scores every group's channels (higher = more important), keyed by `group.producer`: the criterion
 * on each producer's kernel, reduced over all producers of the group (sum, mean or max, channel by
 * channel; optionally with the group's BN scales as extra terms).
 * Example: a Conv2D 'c1' with kernel `[3, 3, 1, 8]` gives `{ c1: Float32Array(8) }`, entry j being
 * the norm of `kernel[:, :, :, j]`; Conv2DTranspose scores its `[kh, kw, out, in]` kernel on axis 2,
 * SeparableConv2D its pointwise kernel; a residual group of `a` and `b` gives `{a: l1(a) + l1(b)}`.
 */
export function scoreGroups(
  ir: ModelIR,
  artifacts: ModelArtifactsData,
  graph: ChannelGraph,
  criterion: Criterion,
  options: ScoreOptions = {},
): Record<string, Float32Array> {
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  const norms = criterion === 'l1' ? l1Norms : l2Norms;
  const reduction = options.reduction ?? 'sum';
  const out: Record<string, Float32Array> = {};
  for (const g of graph.groups) {
    const producers = g.producers?.length ? g.producers : [g.producer];
    const terms = producers.map((name) => {
      const layer = byName.get(name);
      if (!layer) throw new Error(`'${name}' is not a producer layer.`);
      return producerScores(layer, artifacts, norms);
    });
    if (options.bnScale) {
      for (const m of g.members) {
        const layer = byName.get(m.layer);
        if (m.role !== 'channelwise' || layer?.className !== 'BatchNormalization') continue;
        const s = bnScales(g, m, layer, artifacts);
        if (s) terms.push(s);
      }
    }
    out[g.producer] = reduce(terms, reduction, g.size);
  }
  return out;
}

function reduce(terms: Float32Array[], reduction: GroupReduction, size: number): Float32Array {
  if (terms.length === 1) return terms[0]!;
  const acc = new Float64Array(size).fill(reduction === 'max' ? -Infinity : 0);
  for (const t of terms) {
    for (let i = 0; i < size; i++) {
      const v = t[i]!;
      acc[i] = reduction === 'max' ? Math.max(acc[i]!, v) : acc[i]! + v;
    }
  }
  if (reduction === 'mean') for (let i = 0; i < size; i++) acc[i]! /= terms.length;
  return Float32Array.from(acc);
}
