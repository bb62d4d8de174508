/**
 * Fine-tuning and BN re-estimation on the wasm backend, the page's backend without a GPU: the
 * gradients of Conv2D / DepthwiseConv2D go through PruneLab's registered kernels there.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { initNodeBackend } from './tf-node';
import { floatSource } from '../core/evaluate/sample-source';
import { fineTune } from '../core/train/fine-tune';
import { reestimateBatchNorm } from '../core/train/batch-norm';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

it('fine-tunes a conv/depthwise/BN model on wasm without leaks, then re-estimates its BNs', async () => {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [6, 6, 1],
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        kernelInitializer: init(1),
      }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthwiseInitializer: init(2) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
  const count = 24;
  const values = Float32Array.from({ length: count * 36 }, (_, i) => ((i * 7919) % 97) / 97);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 2);
  const source = floatSource({ count, height: 6, width: 6, channels: 1, numClasses: 2, values, labels });
  const before = tf.memory().numTensors;
  const r = await fineTune(model, source, source, { epochs: 2, batchSize: 8 });
  expect(tf.getBackend()).toBe('wasm');
  expect(r.history.every((h) => Number.isFinite(h.loss))).toBe(true);
  const bn = await reestimateBatchNorm(model, source, { batchSize: 8 });
  expect(bn.layers.length).toBe(1);
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});
