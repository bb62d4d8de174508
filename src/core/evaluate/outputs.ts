/**
 * What a live classifier's output holds, and how to turn it into probabilities or log-probabilities
 * over classes, the common ground of the metrics, the KL divergence and distillation.
 *
 * - `probabilities` (a softmax on the output layer): used as they are; log = `log(max(p, 1e-7))`.
 *   As logits for a temperature, `log p` serves: softmax(log p / T) = softmax(z / T) for the z
 *   that made p (they differ by a constant per row).
 * - `logits` (anything else): softmax / log-softmax.
 * - `sigmoid` with one output: a binary classifier, `[1 - p, p]` (class 1 = positive).
 *   With several outputs (multi-label), each row is divided by its sum to act as a distribution.
 */
import * as tf from '@tensorflow/tfjs';
import type { OutputKind } from '../scoring/taylor';

export type { OutputKind };

export const PROBABILITY_EPSILON = 1e-7;

/** The layer that makes a model's first output, looking inside nested models. */
function outputLayer(model: tf.LayersModel): tf.layers.Layer {
  let layer = model.outputs[0]?.sourceLayer;
  if (!layer) throw new Error(`Model '${model.name}' has no output.`);
  while (layer instanceof tf.LayersModel) {
    const inner: tf.layers.Layer | undefined = layer.outputs[0]?.sourceLayer;
    if (!inner) break;
    layer = inner;
  }
  return layer;
}

/** A softmax on the output layer (its `activation`, or a `Softmax`/`Activation` layer) -> probabilities; a sigmoid -> sigmoid; else logits. */
export function liveOutputKind(model: tf.LayersModel): OutputKind {
  const layer = outputLayer(model);
  if (layer.getClassName() === 'Softmax') return 'probabilities';
  const act = layer.getConfig()['activation'];
  if (act === 'softmax') return 'probabilities';
  if (act === 'sigmoid') return 'sigmoid';
  return 'logits';
}

/** Classes a model's output ranges over: its last dimension, or 2 for a one-unit sigmoid. */
export function outputClasses(model: tf.LayersModel): number {
  const shape = model.outputs[0]?.shape;
  const k = shape?.[shape.length - 1];
  if (shape?.length !== 2 || typeof k !== 'number') {
    throw new Error(
      `Model '${model.name}' outputs shape [${(shape ?? []).map(String).join(', ')}]; a classifier outputs [batch, classes].`,
    );
  }
  return k === 1 && liveOutputKind(model) === 'sigmoid' ? 2 : k;
}

/** The single `[n, k]` output of `model.predict`/`apply`, or an error naming the model. */
export function singleOutput(out: tf.Tensor | tf.Tensor[], model: tf.LayersModel): tf.Tensor2D {
  if (Array.isArray(out)) {
    throw new Error(`Model '${model.name}' has ${out.length} outputs; a single classifier output is needed.`);
  }
  if (out.rank !== 2) {
    throw new Error(
      `Model '${model.name}' outputs shape [${out.shape.join(', ')}]; a classifier outputs [batch, classes].`,
    );
  }
  return out as tf.Tensor2D;
}

/** `[n, k]` raw output -> `[n, classes]` log-probabilities, by kind (see the module comment). */
export function toLogProbabilities(out: tf.Tensor2D, kind: OutputKind): tf.Tensor2D {
  return tf.tidy((): tf.Tensor2D => {
    if (kind === 'logits') return tf.logSoftmax(out);
    if (kind === 'sigmoid' && out.shape[1] === 1) {
      const p = tf.clipByValue(out, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON);
      return tf.log(tf.concat([tf.sub(1, p), p], 1)) as tf.Tensor2D;
    }
    const p = tf.clipByValue(out, PROBABILITY_EPSILON, 1);
    if (kind === 'sigmoid') return tf.log(tf.div(p, tf.sum(p, 1, true))) as tf.Tensor2D;
    return tf.log(p);
  });
}

/** `[n, k]` raw output -> `[n, classes]` probabilities, by kind. */
export function toProbabilities(out: tf.Tensor2D, kind: OutputKind): tf.Tensor2D {
  return tf.tidy((): tf.Tensor2D => {
    if (kind === 'logits') return tf.softmax(out);
    if (kind === 'sigmoid') {
      if (out.shape[1] === 1) return tf.concat([tf.sub(1, out), out], 1) as tf.Tensor2D;
      return tf.div<tf.Tensor2D>(out, tf.maximum(tf.sum(out, 1, true), PROBABILITY_EPSILON));
    }
    return out.clone();
  });
}

/**
 * Log-probabilities at temperature T: `logSoftmax(z / T)` with z the logits, or `log p` standing
 * in for them (see the module comment). T = 1 gives `toLogProbabilities`.
 */
export function temperedLogProbabilities(
  out: tf.Tensor2D,
  kind: OutputKind,
  temperature: number,
): tf.Tensor2D {
  return tf.tidy((): tf.Tensor2D => {
    const logits = kind === 'logits' ? out : toLogProbabilities(out, kind);
    return tf.logSoftmax(temperature === 1 ? logits : tf.div<tf.Tensor2D>(logits, temperature));
  });
}
