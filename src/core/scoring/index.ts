/**
 * Importance scores per output channel of each group's producer. One file per criterion; this
 * module picks the criterion and finds the right weight and axis from the rules table.
 */
import type { ModelArtifactsData } from '../ir/artifacts';
import type { ModelIR } from '../ir/model-ir';
import type { ChannelGraph } from '../graph/types';
import { ruleFor } from '../graph/layer-rules';
import { l1Norms, l2Norms } from './magnitude';

export { l1Norms, l2Norms } from './magnitude';

/** A scoring criterion: `l1` = sum |W_j|, `l2` = sqrt(sum W_j^2) over filter j's kernel entries. */
export type Criterion = 'l1' | 'l2';

/** The criteria, for menus and `--criterion`. */
export const CRITERIA: readonly { id: Criterion; label: string; description: string }[] = [
  { id: 'l1', label: 'L1 norm', description: "Sum of a filter's absolute kernel weights (Li et al. 2017)." },
  { id: 'l2', label: 'L2 norm', description: "Square root of the sum of a filter's squared kernel weights." },
];

/**
 * Scores every group's producer channels (higher = more important), keyed by producer name.
 * Example: a Conv2D 'c1' with kernel `[3, 3, 1, 8]` gives `{ c1: Float32Array(8) }`, entry j being
 * the norm of `kernel[:, :, :, j]`; Conv2DTranspose scores its `[kh, kw, out, in]` kernel on axis 2,
 * SeparableConv2D its pointwise kernel.
 */
export function scoreGroups(
  ir: ModelIR,
  artifacts: ModelArtifactsData,
  graph: ChannelGraph,
  criterion: Criterion,
): Record<string, Float32Array> {
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  const norms = criterion === 'l1' ? l1Norms : l2Norms;
  const out: Record<string, Float32Array> = {};
  for (const g of graph.groups) {
    const layer = byName.get(g.producer);
    const rule = layer && ruleFor(layer.className);
    if (!layer || !rule?.scoredWeight || !rule.weights)
      throw new Error(`'${g.producer}' is not a producer layer.`);
    const ref = layer.weights.find((w) => w.role === rule.scoredWeight);
    const spec = rule
      .weights({ name: layer.name, className: layer.className, config: layer.config }, layer.inputShape)
      .find((s) => s.role === rule.scoredWeight);
    const axis = spec?.axes.findIndex((a) => a.kind === 'out') ?? -1;
    const w = ref && artifacts.weights[ref.weightIndex];
    if (!w || axis < 0)
      throw new Error(`Layer '${g.producer}' has no '${rule.scoredWeight}' weight to score.`);
    out[g.producer] = norms(w, axis);
  }
  return out;
}
