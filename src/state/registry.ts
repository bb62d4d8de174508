import type * as tf from '@tensorflow/tfjs';
import type { OpenedModel } from '../core/load';
import type { CostModel } from '../core/metrics/costs';
import type { SampleSet } from '../core/evaluate/sample-set';

/**
 * Owns the heavy, non-serialisable objects (weights, live tf models, the cost model closure) so the
 * zustand store can hold only ids and plain data (zustand's immutability guidance, STYLE.md #7).
 */
export interface ModelEntry {
  opened: OpenedModel;
  costModel: CostModel;
  /** The original model as a live tf.LayersModel, created lazily for previews. */
  tfModel?: tf.LayersModel;
}

const models = new Map<number, ModelEntry>();
const sampleSets = new Map<number, SampleSet>();
let nextId = 1;

/** Registers a model and returns its id. */
export function putModel(entry: ModelEntry): number {
  const id = nextId++;
  models.set(id, entry);
  return id;
}

/** The model registered under `id`; throws if it was released. */
export function getModel(id: number): ModelEntry {
  const m = models.get(id);
  if (!m) throw new Error(`Model ${id} is not open.`);
  return m;
}

/** Releases a model and disposes its live tf model. */
export function releaseModel(id: number): void {
  models.get(id)?.tfModel?.dispose();
  models.delete(id);
}

/** Registers a sample set and returns its id. */
export function putSampleSet(set: SampleSet): number {
  const id = nextId++;
  sampleSets.set(id, set);
  return id;
}

/** The sample set registered under `id`. */
export function getSampleSet(id: number): SampleSet {
  const s = sampleSets.get(id);
  if (!s) throw new Error(`Sample set ${id} is not open.`);
  return s;
}

/** Releases a sample set. */
export function releaseSampleSet(id: number): void {
  sampleSets.delete(id);
}
