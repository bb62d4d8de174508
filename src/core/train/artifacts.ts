/**
 * The fine-tuned model as artifacts that keep their story: the pruned model's topology, weight
 * order and metadata (the `userDefinedMetadata.prunelab` provenance record above all) with the
 * trained weight values, plus a `finetune` entry saying how the recovery was done and what it gave.
 *
 * Where the entry goes: inside the provenance record (`prunelab.finetune`, a list, one entry per
 * fine-tuning) when the model has one; else, for a model that was never pruned, in
 * `userDefinedMetadata.prunelab_finetune`. `readFineTuneHistory` reads either.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import { artifactsFromLayersModel } from '../io/tf-artifacts';
import { readProvenance } from '../surgery/apply-plan';
import type { FineTuneResult } from './fine-tune';

/** One fine-tuning, as recorded in the model. */
export interface FineTuneRecord {
  epochs: number;
  /** Epoch whose weights were kept (0 = the starting ones). */
  bestEpoch: number;
  batchSize: number;
  learningRate: number;
  optimizer: string;
  batchNorm: 'batch-stats' | 'frozen';
  /** Null without a teacher. */
  distillation: { temperature: number; alpha: number } | null;
  trainSamples: number;
  valSamples: number;
  /** Validation top-1 accuracy before and after (null without labels). */
  accuracyBefore: number | null;
  accuracyAfter: number | null;
  /** Mean KL(teacher || model) on validation before and after (null without a teacher). */
  klBefore: number | null;
  klAfter: number | null;
  stopped: boolean;
}

/** The record of a `fineTune` run, ready for `artifactsAfterFineTune`. */
export function fineTuneRecord(
  result: FineTuneResult,
  run: { epochs: number; batchSize: number; trainSamples: number; valSamples: number },
): FineTuneRecord {
  return {
    epochs: result.history.length,
    bestEpoch: result.bestEpoch,
    batchSize: run.batchSize,
    learningRate: result.learningRate,
    optimizer: result.optimizer,
    batchNorm: result.batchNorm,
    distillation: result.alpha > 0 ? { temperature: result.temperature, alpha: result.alpha } : null,
    trainSamples: run.trainSamples,
    valSamples: run.valSamples,
    accuracyBefore: result.before.accuracy,
    accuracyAfter: result.after.accuracy,
    klBefore: result.before.kl,
    klAfter: result.after.kl,
    stopped: result.stopped || result.history.length < run.epochs,
  };
}

/** The fine-tuning entries a model carries, oldest first ([] when none). */
export function readFineTuneHistory(a: ModelArtifactsData): FineTuneRecord[] {
  const inRecord = (a.userDefinedMetadata?.['prunelab'] as { finetune?: unknown } | undefined)?.finetune;
  const list = inRecord ?? a.userDefinedMetadata?.['prunelab_finetune'];
  return Array.isArray(list) ? (list as FineTuneRecord[]) : [];
}

/** True when two weight lists have the same names, shapes and dtypes, in order. */
function sameLayout(a: readonly WeightTensor[], b: readonly WeightTensor[]): boolean {
  return (
    a.length === b.length &&
    a.every((w, i) => {
      const v = b[i]!;
      return w.name === v.name && w.dtype === v.dtype && w.shape.join(',') === v.shape.join(',');
    })
  );
}

/**
 * Artifacts of a fine-tuned `model` that was loaded from `original` (the pruned artifacts): the
 * original's topology, weight order and metadata, with the model's current weight values matched
 * by name (falling back to tfjs' own topology when the weights no longer line up), and `record`
 * appended to the fine-tuning history (see the module comment). `original` is not changed.
 */
export async function artifactsAfterFineTune(
  original: ModelArtifactsData,
  model: tf.LayersModel,
  record?: FineTuneRecord,
): Promise<ModelArtifactsData> {
  const snap = await artifactsFromLayersModel(model);
  const byName = new Map(snap.weights.map((w) => [w.name, w]));
  const matched = original.weights.map((w) => byName.get(w.name));
  const out: ModelArtifactsData = sameLayout(
    original.weights,
    matched.filter((w): w is WeightTensor => w !== undefined),
  )
    ? { ...original, weights: matched as WeightTensor[] }
    : { ...snap };
  const provenance = readProvenance(original);
  const meta: Record<string, unknown> =
    original.userDefinedMetadata === undefined ? {} : structuredClone(original.userDefinedMetadata);
  if (record) {
    const history = [...readFineTuneHistory(original), record];
    if (provenance) meta['prunelab'] = { ...(meta['prunelab'] as object), finetune: history };
    else meta['prunelab_finetune'] = history;
  }
  if (Object.keys(meta).length > 0) out.userDefinedMetadata = meta;
  else delete out.userDefinedMetadata;
  return out;
}
