import * as tf from '@tensorflow/tfjs';
import type { SampleSet } from './sample-set';
import { asSampleSource, type SampleSource } from './sample-source';
import { abortError } from '../errors';

export interface EvaluateOptions {
  /** Samples per forward pass (default 64). Every model sees the same batches. */
  batchSize?: number;
  /** Called after each batch with the samples done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting it stops between batches with an `Error` named 'AbortError'. */
  signal?: AbortSignal;
  /** Awaited between batches so the page can paint (e.g. `tf.nextFrame` in the browser). */
  yieldEvery?: () => Promise<void>;
}

export interface EvaluateResult {
  samples: number;
  /** Top-1 accuracy of each model, or null per model when the set has no labels (or is empty). */
  accuracy: (number | null)[];
  /**
   * Share of samples on which a model's top-1 class equals models[0]'s (the original), averaged over
   * models[1..]; with two models exactly their agreement. Null with one model or an empty set.
   * Per-model figures: `topOneAgreement(predictions[0], predictions[i])`.
   */
  agreement: number | null;
  /** Top-1 class per sample, one array per model. */
  predictions: Int32Array[];
}

/** The error thrown when the evaluation's signal aborts (the one in core/errors.ts). */
export { abortError };

/** Share of positions where two prediction arrays hold the same class (null when empty). */
export function topOneAgreement(a: Int32Array, b: Int32Array): number | null {
  if (a.length !== b.length)
    throw new Error(`Prediction arrays differ in length: ${a.length} vs ${b.length}.`);
  if (a.length === 0) return null;
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/**
 * Top-1 class of each row of a classifier output, as a tensor to read back asynchronously.
 * `[n, classes]` -> argMax over classes; `[n, 1]` (a sigmoid binary classifier) -> 1 when > 0.5.
 */
function topOne(model: tf.LayersModel, index: number, x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const out = model.predict(x, { batchSize: x.shape[0] });
    if (Array.isArray(out)) {
      throw new Error(
        `Model ${index} ('${model.name}') has ${out.length} outputs; evaluation needs a single classifier output.`,
      );
    }
    if (out.rank !== 2) {
      throw new Error(
        `Model ${index} ('${model.name}') outputs shape [${out.shape.join(', ')}]; evaluation needs [batch, classes].`,
      );
    }
    if (out.shape[1] === 1) return tf.cast(tf.greater<tf.Tensor1D>(out.reshape([-1]), 0.5), 'int32');
    return tf.argMax<tf.Tensor1D>(out, 1);
  });
}

/**
 * Runs every model on the same batches of `set` (a `.plss` set, read as bytes / 255, or any
 * `SampleSource`) and returns top-1 accuracy per model, agreement with models[0], and every
 * prediction. Reads back with `await data()`, frees every tensor it makes, and checks the signal
 * between batches. For top-5, per-class figures, confusion and KL see `compareModels` (compare.ts).
 */
export async function evaluateModels(
  models: tf.LayersModel[],
  set: SampleSet | SampleSource,
  opts: EvaluateOptions = {},
): Promise<EvaluateResult> {
  const source = asSampleSource(set);
  const labels = source.labels;
  const { onProgress, signal, yieldEvery } = opts;
  const batchSize = opts.batchSize ?? 64;
  if (models.length === 0) throw new Error('evaluateModels needs at least one model.');
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  const total = source.count;
  const predictions = models.map(() => new Int32Array(total));
  const correct = models.map(() => 0);

  for (let start = 0; start < total; start += batchSize) {
    if (signal?.aborted) throw abortError();
    const end = Math.min(total, start + batchSize);
    const tops: tf.Tensor1D[] = [];
    try {
      const x = source.batch(start, end);
      try {
        for (let m = 0; m < models.length; m++) tops.push(topOne(models[m]!, m, x));
      } finally {
        x.dispose();
      }
      const values = await Promise.all(tops.map((t) => t.data()));
      values.forEach((v, m) => {
        const pred = predictions[m]!;
        for (let i = 0; i < v.length; i++) pred[start + i] = v[i]!;
        if (labels !== null) {
          let hits = 0;
          for (let i = start; i < end; i++) if (pred[i] === labels[i]) hits++;
          correct[m]! += hits;
        }
      });
    } finally {
      tf.dispose(tops);
    }
    onProgress?.(end, total);
    if (end < total) {
      if (yieldEvery) await yieldEvery();
      if (signal?.aborted) throw abortError();
    }
  }

  const accuracy = correct.map((c) => (labels === null || total === 0 ? null : c / total));
  let agreement: number | null = null;
  if (models.length > 1 && total > 0) {
    let sum = 0;
    for (let m = 1; m < models.length; m++) sum += topOneAgreement(predictions[0]!, predictions[m]!)!;
    agreement = sum / (models.length - 1);
  }
  return { samples: total, accuracy, agreement, predictions };
}

/** Bytes of activations one batch may hold at its peak (the largest layer's input and output). */
export const BATCH_ACTIVATION_BUDGET = 32 * 2 ** 20;

/** Float32 weights above this many bytes halve the activation budget (see `batchSizeFor`). */
export const LARGE_WEIGHTS_BYTES = 64 * 2 ** 20;

/**
 * A batch size that keeps a batch's activations under `budget` bytes: the two largest layer outputs
 * per sample (float32) bound what one layer holds at once. On the wasm backend the heap never
 * shrinks, so a batch of 64 on an InceptionV3-size model would keep hundreds of MB for good.
 * Example: MNIST-size (28x28x16 largest) gives 64; an InceptionV3-size model at 75x75 (its two
 * largest outputs ~0.6 MB a sample) would get 53, and with its 83 MB of weights gets 26.
 *
 * Layers given with their weights (`LayerIR`) and more than 64 MB of float32 weights get half the
 * budget: once run on wasm, such a model already holds ~3.4x its weights (the tensors, the
 * transposed filter tfjs keeps per conv operator, XNNPACK's packed copy), the heap grows by 20% steps,
 * and their per-image work is large enough that smaller batches cost nothing measurable (measured on
 * an InceptionV3-size model at 75x75: batch 26 vs 53, 1.005x the time; the preview's pruned pass
 * stays in a 298 MB heap instead of growing it to 358 MB). Small models keep the full budget: a
 * MobileNetV2-size model at 96x96 runs 1.05x slower with half of it.
 */
export function batchSizeFor(
  layers: readonly {
    outputShape: readonly (number | null)[];
    weights?: readonly { shape: readonly number[] }[];
  }[],
  budget = BATCH_ACTIVATION_BUDGET,
  max = 64,
): number {
  const weightBytes = layers.reduce(
    (n, l) => n + (l.weights ?? []).reduce((m, w) => m + 4 * w.shape.reduce((p, d) => p * d, 1), 0),
    0,
  );
  if (weightBytes > LARGE_WEIGHTS_BYTES) budget /= 2;
  const sizes = layers
    .map((l) => l.outputShape.slice(1).reduce<number>((n, d) => n * (d ?? 1), 1))
    .sort((a, b) => b - a);
  const perSample = 4 * ((sizes[0] ?? 1) + (sizes[1] ?? 0));
  return Math.max(1, Math.min(max, Math.floor(budget / perSample)));
}
