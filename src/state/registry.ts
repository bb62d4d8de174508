import type * as tf from '@tensorflow/tfjs';
import type { OpenedModel } from '../core/load';
import type { CostModel } from '../core/metrics/costs';
import type { SampleSet } from '../core/evaluate/sample-set';
import type { InputFile, ModelArtifactsData } from '../core/ir/artifacts';
import { asSampleSource, type SampleSource } from '../core/evaluate/sample-source';

/**
 * Owns the heavy, non-serialisable objects (weights, live tf models, the cost model closure) so the
 * zustand store can hold only ids and plain data (zustand's immutability guidance, STYLE.md #7).
 */
export interface ModelEntry {
  opened: OpenedModel;
  costModel: CostModel;
  /** The files it was opened from (an ONNX export edits the user's own file). */
  sourceFiles?: InputFile[];
  /** The original model as a live tf.LayersModel, created lazily for previews. */
  tfModel?: tf.LayersModel;
}

const models = new Map<number, ModelEntry>();
const sampleSets = new Map<number, SampleSet>();
/** Sources with their own value map (image folders); a `.plss` set is read as bytes / 255. */
const sampleSources = new Map<number, SampleSource>();
/**
 * Recovered (re-estimated / fine-tuned) pruned artifacts per model and plan key: every plan keeps
 * its own, so undoing to a fine-tuned plan gives its weights back.
 */
const recovered = new Map<number, Map<string, ModelArtifactsData>>();
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
  recovered.delete(id);
}

/** Keeps the recovered artifacts of model `id` for the plan with key `planKey` (core/plan/key.ts). */
export function putRecovered(id: number, planKey: string, artifacts: ModelArtifactsData): void {
  let perPlan = recovered.get(id);
  if (!perPlan) recovered.set(id, (perPlan = new Map<string, ModelArtifactsData>()));
  perPlan.set(planKey, artifacts);
}

/** The recovered artifacts of model `id` for `planKey`, else undefined. */
export function getRecovered(id: number, planKey: string): ModelArtifactsData | undefined {
  return recovered.get(id)?.get(planKey);
}

/** Every plan key of model `id` with recovered artifacts. */
export function recoveredKeys(id: number): string[] {
  return [...(recovered.get(id)?.keys() ?? [])];
}

/** Drops the recovered artifacts of model `id` (one plan's, or all). */
export function releaseRecovered(id: number, planKey?: string): void {
  if (planKey === undefined) recovered.delete(id);
  else recovered.get(id)?.delete(planKey);
}

/** Registers a sample set and returns its id. */
export function putSampleSet(set: SampleSet, source?: SampleSource): number {
  const id = nextId++;
  sampleSets.set(id, set);
  if (source) sampleSources.set(id, source);
  return id;
}

/** The sample set `id` as the model reads it (an image folder through its value range). */
export function getSampleSource(id: number): SampleSource {
  return sampleSources.get(id) ?? asSampleSource(getSampleSet(id));
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
  sampleSources.delete(id);
}
