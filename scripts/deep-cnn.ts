import * as tf from '@tensorflow/tfjs';

/** A plain Sequential CNN of `blocks` conv/bn/relu triples (3 layers each) on a small input. */
export function deepCnn(blocks: number): tf.Sequential {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 32, kernelSize: 3, padding: 'same', name: 'c0' }),
  );
  m.add(tf.layers.batchNormalization({ name: 'b0' }));
  m.add(tf.layers.reLU({ name: 'r0' }));
  for (let i = 1; i < blocks; i++) {
    m.add(tf.layers.conv2d({ filters: 32 + (i % 4) * 16, kernelSize: 3, padding: 'same', name: `c${i}` }));
    m.add(tf.layers.batchNormalization({ name: `b${i}` }));
    m.add(tf.layers.reLU({ name: `r${i}` }));
  }
  m.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  m.add(tf.layers.dense({ units: 10, name: 'logits' }));
  return m;
}
