/**
 * The accuracy view's figures for an original and its pruned versions on one sample source: every
 * model sees the same batches, their class probabilities are collected, and metrics.ts turns them
 * into top-1/top-5, per-class accuracy, confusion matrices, agreement with the original's top-1 and
 * the mean KL divergence from the original's outputs (the two that need no labels).
 */
import * as tf from '@tensorflow/tfjs';
import { abortError, topOneAgreement, type EvaluateOptions } from './evaluate';
import {
  classificationMetrics,
  meanKlDivergence,
  topOneClasses,
  type ClassificationMetrics,
} from './metrics';
import { liveOutputKind, outputClasses, singleOutput, toProbabilities } from './outputs';
import { asSampleSource, type SampleSource } from './sample-source';
import type { SampleSet } from './sample-set';

/** Class probabilities of each model over a source, `[count, numOutputs]` row-major. */
export interface CollectedProbabilities {
  probs: Float32Array[];
  numOutputs: number;
}

/**
 * Runs every model on the same batches and collects their class probabilities (softmax of logits,
 * `[1 - p, p]` for a one-unit sigmoid; see outputs.ts). All models must predict the same classes.
 * Frees every tensor it makes; checks `signal` between batches.
 */
export async function collectProbabilities(
  models: readonly tf.LayersModel[],
  set: SampleSet | SampleSource,
  opts: EvaluateOptions = {},
): Promise<CollectedProbabilities> {
  if (models.length === 0) throw new Error('collectProbabilities needs at least one model.');
  const source = asSampleSource(set);
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  const classes = models.map(outputClasses);
  const numOutputs = classes[0]!;
  const other = classes.findIndex((k) => k !== numOutputs);
  if (other >= 0) {
    throw new Error(
      `Model ${other} ('${models[other]!.name}') predicts ${classes[other]} classes, model 0 predicts ${numOutputs}.`,
    );
  }
  const kinds = models.map(liveOutputKind);
  const total = source.count;
  const probs = models.map(() => new Float32Array(total * numOutputs));
  for (let start = 0; start < total; start += batchSize) {
    if (opts.signal?.aborted) throw abortError();
    const end = Math.min(total, start + batchSize);
    const outs: tf.Tensor2D[] = [];
    try {
      const x = source.batch(start, end);
      try {
        models.forEach((m, i) => {
          outs.push(
            tf.tidy(() =>
              toProbabilities(singleOutput(m.predict(x, { batchSize: end - start }), m), kinds[i]!),
            ),
          );
        });
      } finally {
        x.dispose();
      }
      const values = await Promise.all(outs.map((t) => t.data()));
      values.forEach((v, m) => probs[m]!.set(v, start * numOutputs));
    } finally {
      tf.dispose(outs);
    }
    opts.onProgress?.(end, total);
    if (end < total) {
      if (opts.yieldEvery) await opts.yieldEvery();
      if (opts.signal?.aborted) throw abortError();
    }
  }
  return { probs, numOutputs };
}

/** One model's figures in a comparison. */
export interface ModelFigures {
  /** Null for an unlabelled source. */
  metrics: ClassificationMetrics | null;
  /** Top-1 class per sample. */
  predictions: Int32Array;
  /** Share of samples whose top-1 equals model 0's (1 for model 0 itself; null for an empty set). */
  agreement: number | null;
  /** Mean KL(model 0 || this model), nats (0 for model 0; null for an empty set). */
  klFromOriginal: number | null;
}

export interface ComparisonResult {
  samples: number;
  numOutputs: number;
  models: ModelFigures[];
}

/**
 * Runs `models` (models[0] = the original) on `set` and returns every figure of the accuracy view.
 * Example: `compareModels([original, pruned], imageSetSource(set))`.
 */
export async function compareModels(
  models: readonly tf.LayersModel[],
  set: SampleSet | SampleSource,
  opts: EvaluateOptions = {},
): Promise<ComparisonResult> {
  const source = asSampleSource(set);
  const { probs, numOutputs } = await collectProbabilities(models, source, opts);
  const predictions = probs.map((p) => topOneClasses(p, numOutputs));
  const labels = source.labels;
  return {
    samples: source.count,
    numOutputs,
    models: probs.map((p, m) => ({
      metrics:
        labels === null
          ? null
          : classificationMetrics(p, numOutputs, labels, Math.max(source.numClasses, numOutputs)),
      predictions: predictions[m]!,
      agreement: topOneAgreement(predictions[0]!, predictions[m]!),
      klFromOriginal: meanKlDivergence(probs[0]!, p, numOutputs),
    })),
  };
}
