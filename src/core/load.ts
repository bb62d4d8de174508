import type { InputFile, ModelArtifactsData } from './ir/artifacts';
import type { ModelIR } from './ir/model-ir';
import type { ChannelGraph } from './graph/types';
import { openModelFiles } from './io/open-model';
import { buildModelIR } from './ir/build-ir';
import { buildChannelGraph } from './graph/build-graph';

/** Everything a workbench or CLI needs about an opened model; all plain data. */
export interface OpenedModel {
  artifacts: ModelArtifactsData;
  ir: ModelIR;
  graph: ChannelGraph;
}

/**
 * files -> artifacts -> IR -> channel graph, in one call. Throws `ModelLoadError` naming the file or
 * layer at fault; nothing is returned half-built, so a caller's current model stays untouched.
 */
export async function loadModel(files: InputFile[]): Promise<OpenedModel> {
  const artifacts = await openModelFiles(files);
  return analyseArtifacts(artifacts);
}

/** artifacts -> IR -> channel graph (used after surgery or fine-tuning too). */
export function analyseArtifacts(artifacts: ModelArtifactsData): OpenedModel {
  const ir = buildModelIR(artifacts);
  const graph = buildChannelGraph(ir);
  return { artifacts, ir, graph };
}
