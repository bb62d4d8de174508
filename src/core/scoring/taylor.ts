/**
 * First-order Taylor importance (Molchanov et al., Importance Estimation for Neural Network
 * Pruning, CVPR 2019; ICLR 2017): removing channel c changes the loss by about
 * `sum over samples and positions of a_c * dL/da_c`, so its importance is the absolute value of that
 * sum (here divided by the number of samples, so figures do not grow with the set).
 *
 * The gradient is taken with respect to a *gate*: each observed tensor `a` (see observe.ts) is
 * multiplied by a vector of ones `g`, and `dL/dg_c = sum a_c * dL/d(a*g)_c` at g = 1, which is
 * exactly the sum above, with no need to split the model. The loss is the cross-entropy on the
 * sample labels, or, for an unlabelled set, on the model's own top-1 predictions (the "self"
 * labels: the gradient then measures how much each channel supports what the model already says).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelIR } from '../ir/model-ir';
import { runLayers } from './observe';

/** What the model's output holds, which decides the cross-entropy. */
export type OutputKind = 'probabilities' | 'logits' | 'sigmoid';

const EPSILON = 1e-7;

/**
 * From the IR: a softmax on the output layer (its `activation`, or a `Softmax`/`Activation` layer)
 * means probabilities, a sigmoid a binary classifier; anything else is taken as logits.
 */
export function outputKind(ir: ModelIR): OutputKind {
  const name = ir.outputs[0];
  const layer = ir.layers.find((l) => l.name === name);
  if (!layer) return 'logits';
  if (layer.className === 'Softmax') return 'probabilities';
  const act = layer.config['activation'];
  if (act === 'softmax') return 'probabilities';
  if (act === 'sigmoid') return 'sigmoid';
  return 'logits';
}

/**
 * Summed (not averaged) cross-entropy of a batch of outputs against class labels; `labels` null
 * means the model's own top-1 classes. `[n, k]` outputs by `kind`; a sigmoid output is `[n, 1]`.
 */
export function crossEntropySum(out: tf.Tensor, labels: tf.Tensor1D | null, kind: OutputKind): tf.Scalar {
  const rows: tf.Tensor2D = tf.reshape(out, [out.shape[0] ?? 1, -1]);
  const k = rows.shape[1];
  if (kind === 'sigmoid' && k === 1) {
    const p = tf.clipByValue(rows.reshape([-1]), EPSILON, 1 - EPSILON);
    const y = labels ? tf.cast(labels, 'float32') : tf.cast(tf.greater(p, 0.5), 'float32');
    const ll = tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p))));
    return tf.neg(tf.sum<tf.Scalar>(ll));
  }
  const y = tf.oneHot(labels ? tf.cast(labels, 'int32') : tf.argMax(rows, 1), k);
  const logp = kind === 'logits' ? tf.logSoftmax(rows) : tf.log(tf.clipByValue(rows, EPSILON, 1));
  return tf.neg(tf.sum<tf.Scalar>(tf.mul(y, logp)));
}

/**
 * For one batch `x`, per channel at each observed layer (`layers[i]` with `channels[i]` channels):
 * `sum over the batch of (sum over positions of a * dL/da)` and `sum over the batch of
 * |sum over positions of a * dL/da|`, as one `[2 * sum channels]` tensor (all signed sums, then
 * all absolute ones, each in layer order) that the caller reads and disposes. `L` is the summed
 * cross-entropy. The gates are `[n, c]`, one row per sample, so one backward pass gives both.
 */
export function taylorBatch(
  model: tf.LayersModel,
  x: tf.Tensor,
  labels: tf.Tensor1D | null,
  layers: readonly { layer: string; channels: number }[],
  kind: OutputKind,
): tf.Tensor1D {
  return tf.tidy(() => {
    const n = x.shape[0] ?? 1;
    const index = new Map(layers.map((p, i) => [p.layer, i]));
    const gates = layers.map((p) => tf.ones([n, p.channels]));
    const loss = (...g: tf.Tensor[]): tf.Scalar => {
      const [out] = runLayers(
        model,
        x,
        (name, a) => {
          const i = index.get(name);
          if (i === undefined) return a;
          const c = a.shape[a.rank - 1];
          if (c !== layers[i]!.channels) {
            throw new Error(`'${name}' has ${c} channels where ${layers[i]!.channels} were expected.`);
          }
          // [n, c] -> [n, 1, ..., 1, c], broadcast over the positions.
          const shape = [n, ...new Array<number>(Math.max(0, a.rank - 2)).fill(1), c];
          return tf.mul(a, tf.reshape(g[i]!, shape));
        },
        { freeEarly: false, affineBatchNorm: true },
      );
      if (!out) throw new Error(`Model '${model.name}' has no output.`);
      // `0 * sum(g)` ties every gate to the loss, so a layer the output does not depend on gets a
      // zero gradient instead of making tf.grads throw.
      const tie = g.reduce<tf.Scalar>((s, t) => tf.add(s, tf.sum(t)), tf.scalar(0));
      return tf.add(crossEntropySum(out, labels, kind), tf.mul(0, tie));
    };
    const grads = tf.grads(loss)(gates);
    if (grads.length === 0) return tf.zeros<tf.Rank.R1>([0]);
    return tf.concat([
      ...grads.map((t) => tf.sum<tf.Tensor1D>(t, 0)),
      ...grads.map((t) => tf.sum<tf.Tensor1D>(tf.abs(t), 0)),
    ]);
  });
}

/**
 * `|sum| / samples` per channel, from signed sums (`'abs-of-sum'`) or already absolute ones
 * (`'sum-of-abs'`). Example: sums `[-4, 2, 0]` over 2 samples -> `[2, 1, 0]`.
 */
export function taylorImportance(sums: Float64Array, samples: number): Float32Array {
  return Float32Array.from(sums, (s) => (samples > 0 ? Math.abs(s) / samples : Number.NaN));
}
