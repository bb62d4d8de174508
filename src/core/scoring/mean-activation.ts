/**
 * Mean activation (Molchanov et al., Pruning CNNs for Resource Efficient Inference, ICLR 2017): a
 * channel's average output over the sample set and every position. On post-ReLU values (where the
 * observation point usually is, see observe.ts) that is the plain mean; we average `|a|`, which is
 * the same there, and keeps a channel with large negative outputs (a branch before a residual Add)
 * from ranking below a dead one.
 */
import * as tf from '@tensorflow/tfjs';
import { sumPerChannel } from './apoz';

/** Per channel, the sum of `|a|` over every axis but the last; call inside `tf.tidy`. */
export function absSumPerChannel(activation: tf.Tensor): tf.Tensor1D {
  return sumPerChannel(tf.abs(activation));
}

/** `sum / count` per channel. Example: sums `[2, 0, 6]` of 4 values each -> `[0.5, 0, 1.5]`. */
export function meanActivationImportance(sums: Float64Array, count: number): Float32Array {
  return Float32Array.from(sums, (s) => (count > 0 ? s / count : Number.NaN));
}
