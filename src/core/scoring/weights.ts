/**
 * Weight-based scoring: the criterion on each producer's kernel (or its BN scales), reduced over
 * the group's producers. No tfjs, no sample set: synchronous and fast enough to rescore on a click.
 */
import type { ModelArtifactsData } from '../ir/artifacts';
import type { ModelIR } from '../ir/model-ir';
import type { ChannelGraph } from '../graph/types';
import { groupBnScales } from './bn-scale';
import { scorerOf } from './scorers';
import type { Criterion, ScoreOptions } from './types';

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
  const scorer = scorerOf(criterion);
  if (scorer.kind !== 'weights') {
    throw new Error(`The '${criterion}' criterion needs a sample set: use scoreGroupsWithData.`);
  }
  const ctx = { byName: new Map(ir.layers.map((l) => [l.name, l])), artifacts };
  const out: Record<string, Float32Array> = {};
  for (const g of graph.groups) out[g.producer] = scorer.score(g, ctx, options);
  return out;
}
