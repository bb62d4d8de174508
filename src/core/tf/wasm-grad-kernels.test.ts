import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
// eslint-disable-next-line no-restricted-imports -- vitest runs in Node: the wasm backend needs Node's path setup
import { initNodeBackend } from '../../node/tf-node';
import { registerWasmGradKernels } from './wasm-grad-kernels';

/** Seeded uniform floats in [-1, 1): the same data is fed to both backends. */
function randomValues(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  kind: 'conv2d' | 'depthwise';
  x: [number, number, number, number];
  /** conv2d: [kh, kw, in, out]; depthwise: [kh, kw, in, multiplier]. */
  w: [number, number, number, number];
  strides: 1 | 2 | [number, number];
  pad: Pad;
}

/** Gradients of sum(conv(x, w) * r) w.r.t. x and w on one backend, as plain arrays. */
async function gradsOn(
  backend: string,
  c: Case,
  seed: number,
): Promise<{ dx: Float32Array; dw: Float32Array }> {
  await tf.setBackend(backend);
  const x = tf.tensor4d(randomValues(size(c.x), seed), c.x);
  const w = tf.tensor4d(randomValues(size(c.w), seed + 1), c.w);
  const conv = (a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D =>
    c.kind === 'conv2d' ? tf.conv2d(a, b, c.strides, c.pad) : tf.depthwiseConv2d(a, b, c.strides, c.pad);
  const outShape = tf.tidy(() => conv(x, w).shape);
  const r = tf.tensor(randomValues(size(outShape), seed + 2), outShape);
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), r)),
  )([x, w]);
  const out = { dx: (await dx!.data()) as Float32Array, dw: (await dw!.data()) as Float32Array };
  tf.dispose([x, w, r, dx!, dw!]);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

const CASES: Case[] = [
  { kind: 'conv2d', x: [2, 7, 7, 3], w: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { kind: 'conv2d', x: [2, 7, 7, 3], w: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { kind: 'conv2d', x: [3, 9, 8, 2], w: [3, 3, 2, 5], strides: 2, pad: 'same' },
  { kind: 'conv2d', x: [3, 9, 8, 2], w: [3, 3, 2, 5], strides: 2, pad: 'valid' },
  { kind: 'conv2d', x: [2, 10, 11, 3], w: [5, 2, 3, 4], strides: [2, 1], pad: 'same' },
  { kind: 'conv2d', x: [1, 6, 6, 4], w: [1, 1, 4, 3], strides: 2, pad: 'valid' },
  {
    kind: 'conv2d',
    x: [2, 6, 5, 2],
    w: [3, 3, 2, 3],
    strides: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 3],
      [0, 0],
    ],
  },
  { kind: 'depthwise', x: [2, 7, 7, 3], w: [3, 3, 3, 1], strides: 1, pad: 'same' },
  { kind: 'depthwise', x: [2, 8, 9, 3], w: [3, 3, 3, 1], strides: 2, pad: 'same' },
  { kind: 'depthwise', x: [2, 8, 9, 3], w: [3, 3, 3, 2], strides: 2, pad: 'valid' },
  { kind: 'depthwise', x: [3, 6, 6, 4], w: [3, 2, 4, 3], strides: 1, pad: 'valid' },
  { kind: 'depthwise', x: [1, 11, 10, 2], w: [5, 5, 2, 2], strides: 2, pad: 'same' },
];

describe('registerWasmGradKernels', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('fills exactly the kernels wasm lacks, and is idempotent', () => {
    for (const k of [
      'Conv2DBackpropFilter',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
    ]) {
      expect(tf.getKernel(k, 'wasm'), k).toBeDefined();
    }
    expect(registerWasmGradKernels()).toEqual([]);
  });

  it.each(
    CASES.map(
      (c, i) =>
        [
          `${c.kind} x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} s${JSON.stringify(c.strides)} ${JSON.stringify(c.pad)}`,
          c,
          i,
        ] as const,
    ),
  )('matches the cpu backend: %s', async (_name, c, i) => {
    const cpu = await gradsOn('cpu', c, 100 * i + 1);
    const before = (await tf.setBackend('wasm'), tf.memory().numTensors);
    const wasm = await gradsOn('wasm', c, 100 * i + 1);
    expect(tf.memory().numTensors).toBe(before);
    for (const key of ['dx', 'dw'] as const) {
      const { diff, scale } = maxAbsDiff(wasm[key], cpu[key]);
      expect(scale, key).toBeGreaterThan(0);
      expect(diff, key).toBeLessThanOrEqual(1e-4 * (1 + scale));
    }
    await tf.setBackend('wasm');
  });

  it('trains a conv + separable model on wasm the same as on cpu (one SGD step)', async () => {
    const build = (): tf.Sequential => {
      const m = tf.sequential();
      m.add(
        tf.layers.conv2d({
          inputShape: [8, 8, 2],
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
      );
      m.add(
        tf.layers.separableConv2d({
          filters: 3,
          kernelSize: 3,
          padding: 'valid',
          depthMultiplier: 2,
          depthwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }),
          pointwiseInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
      );
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
      m.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      return m;
    };
    const xs = randomValues(4 * 8 * 8 * 2, 7);
    const ys = randomValues(4 * 2, 8);
    const stepOn = async (backend: string): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const m = build();
      const x = tf.tensor4d(xs, [4, 8, 8, 2]);
      const y = tf.tensor2d(ys, [4, 2]);
      await m.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
      const weights = await Promise.all(m.getWeights().map(async (w) => (await w.data()) as Float32Array));
      tf.dispose([x, y]);
      m.dispose();
      return weights;
    };
    const cpu = await stepOn('cpu');
    const wasm = await stepOn('wasm');
    expect(wasm.length).toBe(cpu.length);
    wasm.forEach((w, i) => {
      const { diff } = maxAbsDiff(w, cpu[i]!);
      expect(diff).toBeLessThan(1e-5);
    });
  });
});
