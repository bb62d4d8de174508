/**
 * APoZ, the Average Percentage of Zeros (Hu et al., Network Trimming, 2016): the share of a
 * channel's activations, over the sample set and every position, that a ReLU sets to zero. A channel
 * that is almost always zero carries little. Our scores are importances (low = prune first), so the
 * criterion's score is `1 - APoZ`.
 */
import * as tf from '@tensorflow/tfjs';

/** Sums a tensor over every axis but the last (channels-last): `[n, h, w, c]` -> `[c]`. */
export function sumPerChannel(t: tf.Tensor): tf.Tensor1D {
  const axes = Array.from({ length: t.rank - 1 }, (_, i) => i);
  return (axes.length === 0 ? t : tf.sum(t, axes)) as tf.Tensor1D;
}

/**
 * Per channel, how many values are `<= 0`: exactly the zeros after a ReLU (or ReLU6), and where the
 * observed tensor has no ReLU (a branch ending in BN before a residual Add), the values a ReLU would
 * zero. Returns a `[c]` float tensor; call inside `tf.tidy`.
 */
export function zerosPerChannel(activation: tf.Tensor): tf.Tensor1D {
  return sumPerChannel(tf.cast(tf.lessEqual(activation, 0), 'float32'));
}

/**
 * `1 - zeros / count` per channel, from the zero counts summed over the set and the number of
 * values seen per channel (samples x positions). Example: zeros `[0, 3, 4]` of 4 -> `[1, 0.25, 0]`.
 */
export function apozImportance(zeros: Float64Array, count: number): Float32Array {
  return Float32Array.from(zeros, (z) => (count > 0 ? 1 - z / count : Number.NaN));
}
