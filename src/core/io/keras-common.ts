/** Small pieces the Keras .h5 and .keras readers and writers share. */
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import type { ModelIR } from '../ir/model-ir';
import { ModelLoadError } from './errors';
import type { H5WriteDataset, H5WriteGroup } from './hdf5';

/** Where PruneLab's provenance record lives: `userDefinedMetadata.prunelab`, a root attribute `prunelab` in .h5, a `prunelab` key in a .keras metadata.json. */
export const PROVENANCE_KEY = 'prunelab';

/** The error for a Keras weights-only file (`model.save_weights`, `*.weights.h5`). */
export function weightsOnlyError(file: string): ModelLoadError {
  return new ModelLoadError(
    'WEIGHTS_ONLY',
    `'${file}' holds only weights (Keras save_weights output), not a model: PruneLab needs the full model, ` +
      `architecture and weights. In Python, save it with model.save('model.keras') (or model.save('model.h5')) and open that file.`,
    { file },
  );
}

/** `scopedLayerName -> role -> weight`, from the IR's bindings (so it works whatever the weights are called). */
export function layerWeights(
  a: ModelArtifactsData,
  ir: ModelIR,
): (scoped: string) => Map<string, WeightTensor> {
  const byLayer = new Map<string, Map<string, WeightTensor>>();
  for (const layer of ir.layers) {
    byLayer.set(layer.name, new Map(layer.weights.map((w) => [w.role, a.weights[w.weightIndex]!] as const)));
  }
  return (scoped) => byLayer.get(scoped) ?? new Map<string, WeightTensor>();
}

/** Adds a dataset at a `/`-separated path below `group`, creating the groups on the way (HDF5 does not). */
export function putDataset(group: H5WriteGroup, path: string, dataset: H5WriteDataset): void {
  const parts = path.split('/');
  const leaf = parts.pop()!;
  let g = group;
  for (const part of parts) {
    g.children ??= [];
    let next = g.children.find(([n]) => n === part)?.[1];
    if (!next) {
      next = { kind: 'group', children: [] };
      g.children.push([part, next]);
    }
    if (next.kind !== 'group')
      throw new Error(`putDataset: '${part}' of '${path}' is a dataset, not a group.`);
    g = next;
  }
  g.children ??= [];
  if (g.children.some(([n]) => n === leaf)) throw new Error(`putDataset: two datasets at '${path}'.`);
  g.children.push([leaf, dataset]);
}
