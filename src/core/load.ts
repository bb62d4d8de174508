import type { InputFile, ModelArtifactsData } from './ir/artifacts';
import type { ModelIR } from './ir/model-ir';
import type { ChannelGraph } from './graph/types';
import { openModel } from './io/open-model';
import { buildModelIR } from './ir/build-ir';
import { buildChannelGraph } from './graph/build-graph';
import { keras3HardSigmoidLayer, unbuildableLayers } from './io/tf-artifacts';
import { describeNonFinite, nonFiniteWeights } from './io/weight-health';

/** Everything a workbench or CLI needs about an opened model; all plain data. */
export interface OpenedModel {
  artifacts: ModelArtifactsData;
  ir: ModelIR;
  graph: ChannelGraph;
  /**
   * What opens but will not work everywhere, in words: NaN/Inf weights (data-based criteria refuse
   * them), layers tfjs cannot build (analysis and weight-based pruning work; preview and data do not).
   */
  warnings: string[];
}

/**
 * files -> artifacts -> IR -> channel graph, in one call. Throws `ModelLoadError` naming the file or
 * layer at fault; nothing is returned half-built, so a caller's current model stays untouched.
 */
export async function loadModel(files: InputFile[]): Promise<OpenedModel> {
  const { artifacts, ir } = await openModel(files);
  return analyseArtifacts(artifacts, ir);
}

/**
 * artifacts -> IR -> channel graph (used after surgery or fine-tuning too); `ir` when the caller
 * already has the artifacts' IR (a format plug-in built it while validating).
 */
export function analyseArtifacts(artifacts: ModelArtifactsData, ir = buildModelIR(artifacts)): OpenedModel {
  const graph = buildChannelGraph(ir);
  const warnings: string[] = [];
  const broken = nonFiniteWeights(artifacts);
  if (broken.length > 0) {
    warnings.push(
      `Weights hold NaN or Inf values: ${describeNonFinite(broken)}. Data-based criteria, preview and evaluation cannot use this model.`,
    );
  }
  const unbuildable = unbuildableLayers(artifacts.modelTopology);
  if (unbuildable.length > 0) {
    const list = unbuildable.slice(0, 5).map(([n, c]) => `'${n}' (${c})`);
    warnings.push(
      `TensorFlow.js cannot build layer${unbuildable.length > 1 ? 's' : ''} ${list.join(', ')}${unbuildable.length > 5 ? ` and ${unbuildable.length - 5} more` : ''}: the model can be analysed and pruned by weights, not run.`,
    );
  }
  const hard = keras3HardSigmoidLayer(artifacts.modelTopology);
  if (hard !== undefined) {
    warnings.push(
      `Layer '${hard}' uses Keras 3's hard_sigmoid (relu6(x + 3) / 6), which TensorFlow.js computes as another function: the model can be analysed and pruned by weights and downloaded as .keras or .h5, not run here.`,
    );
  }
  return { artifacts, ir, graph, warnings };
}
