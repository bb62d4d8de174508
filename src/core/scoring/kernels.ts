/** A producer's kernel, read on its filter axis: what the weight-based criteria score. */
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import type { LayerIR } from '../ir/model-ir';
import type { ChannelGroup } from '../graph/types';
import { ruleFor } from '../ir/layer-rules';

/** Scores of each slice of a weight along one axis (L1, L2, FPGM...). */
export type KernelNorm = (w: WeightTensor, axis: number) => Float32Array;

/** The score of each output channel of one producer (its kernel's out axis), e.g. a Conv2D `[3,3,1,8]` kernel gives 8 norms. */
function producerScores(layer: LayerIR, artifacts: ModelArtifactsData, norms: KernelNorm): Float32Array {
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

/** One term per producer of the group: `norms` of its kernel on the filter axis (Conv2DTranspose: axis 2). */
export function kernelTerms(
  group: ChannelGroup,
  byName: ReadonlyMap<string, LayerIR>,
  artifacts: ModelArtifactsData,
  norms: KernelNorm,
): Float32Array[] {
  const producers = group.producers.length > 0 ? group.producers : [group.producer];
  return producers.map((name) => {
    const layer = byName.get(name);
    if (!layer) throw new Error(`'${name}' is not a producer layer.`);
    return producerScores(layer, artifacts, norms);
  });
}
