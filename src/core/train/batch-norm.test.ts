import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { floatSource, type SampleSource } from '../evaluate/sample-source';
import { reestimateBatchNorm } from './batch-norm';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** conv1 -> bn1 -> relu -> dropout -> conv2 -> bn2 -> flatten -> dense, with non-trivial BN params. */
function makeModel(): tf.Sequential {
  const init = (seed: number) => tf.initializers.randomNormal({ seed, stddev: 0.7 });
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [4, 4, 2],
      filters: 3,
      kernelSize: 3,
      padding: 'same',
      name: 'conv1',
      kernelInitializer: init(1),
      biasInitializer: init(2),
    }),
  );
  m.add(tf.layers.batchNormalization({ name: 'bn1', epsilon: 0.01 }));
  m.add(tf.layers.reLU({ name: 'relu1' }));
  m.add(tf.layers.dropout({ rate: 0.5, name: 'drop' }));
  m.add(
    tf.layers.conv2d({
      filters: 2,
      kernelSize: 3,
      padding: 'valid',
      name: 'conv2',
      kernelInitializer: init(3),
    }),
  );
  m.add(tf.layers.batchNormalization({ name: 'bn2' }));
  m.add(tf.layers.flatten({ name: 'flat' }));
  m.add(tf.layers.dense({ units: 2, activation: 'softmax', name: 'out', kernelInitializer: init(4) }));
  // Non-trivial gamma, beta and (stale) moving statistics.
  for (const name of ['bn1', 'bn2']) {
    const layer = m.getLayer(name);
    const c = layer.getWeights()[0]!.shape[0];
    layer.setWeights([tf.linspace(0.5, 2, c), tf.linspace(-0.3, 0.4, c), tf.fill([c], 7), tf.fill([c], 9)]);
  }
  return m;
}

function source(count: number): SampleSource {
  let s = 3;
  const values = Float32Array.from({ length: count * 32 }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) / 2 ** 24 + 0.5;
  });
  return floatSource({ count, height: 4, width: 4, channels: 2, numClasses: 2, values, labels: null });
}

async function arrays(ts: tf.Tensor[]): Promise<number[][]> {
  return Promise.all(ts.map(async (t) => Array.from(await t.data())));
}

/** The oracle: each BN's input on the whole set, computed with plain ops, in training mode. */
async function expectedStats(m: tf.Sequential, x: tf.Tensor4D) {
  const [g1, b1] = m.getLayer('bn1').getWeights();
  const c1 = m.getLayer('conv1').apply(x) as tf.Tensor4D;
  const s1 = tf.moments(c1, [0, 1, 2]);
  const y1 = tf.relu(tf.batchNorm(c1, s1.mean, s1.variance, b1, g1, 0.01));
  const c2 = m.getLayer('conv2').apply(y1) as tf.Tensor4D;
  const s2 = tf.moments(c2, [0, 1, 2]);
  const out = await arrays([s1.mean, s1.variance, s2.mean, s2.variance]);
  tf.dispose([c1, s1.mean, s1.variance, y1, c2, s2.mean, s2.variance]);
  return out;
}

describe('reestimateBatchNorm', () => {
  it('sets every moving mean/variance to the measured batch statistics of its input', async () => {
    const m = makeModel();
    const src = source(10);
    const x = src.batch(0, 10);
    const [mean1, var1, mean2, var2] = await expectedStats(m, x);
    x.dispose();
    const otherBefore = await arrays(['conv1', 'conv2', 'out'].flatMap((n) => m.getLayer(n).getWeights()));
    const gammaBetaBefore = await arrays(
      ['bn1', 'bn2'].flatMap((n) => m.getLayer(n).getWeights().slice(0, 2)),
    );
    const before = tf.memory().numTensors;

    const r = await reestimateBatchNorm(m, src, { batchSize: 10 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.layers.map((l) => l.layer)).toEqual(['bn1', 'bn2']);
    expect(Array.from(r.layers[0]!.previousMean)).toEqual([7, 7, 7]);

    const [, , mm1, mv1] = await arrays(m.getLayer('bn1').getWeights());
    const [, , mm2, mv2] = await arrays(m.getLayer('bn2').getWeights());
    mm1!.forEach((v, i) => expect(v).toBeCloseTo(mean1![i]!, 5));
    mv1!.forEach((v, i) => expect(v).toBeCloseTo(var1![i]!, 5));
    mm2!.forEach((v, i) => expect(v).toBeCloseTo(mean2![i]!, 4));
    mv2!.forEach((v, i) => expect(v).toBeCloseTo(var2![i]!, 4));
    // Nothing else changed.
    expect(await arrays(['conv1', 'conv2', 'out'].flatMap((n) => m.getLayer(n).getWeights()))).toEqual(
      otherBefore,
    );
    expect(await arrays(['bn1', 'bn2'].flatMap((n) => m.getLayer(n).getWeights().slice(0, 2)))).toEqual(
      gammaBetaBefore,
    );
    m.dispose();
  });

  it('merges batches exactly: the first BN (whose input does not depend on batching) gets the whole-set figures', async () => {
    const m = makeModel();
    const src = source(10);
    const x = src.batch(0, 10);
    const [mean1, var1] = await expectedStats(m, x);
    x.dispose();
    await reestimateBatchNorm(m, src, { batchSize: 3 });
    const [, , mm1, mv1] = await arrays(m.getLayer('bn1').getWeights());
    mm1!.forEach((v, i) => expect(v).toBeCloseTo(mean1![i]!, 5));
    mv1!.forEach((v, i) => expect(v).toBeCloseTo(var1![i]!, 5));
    m.dispose();
  });

  it('a cancel leaves the model exactly as it was and leaks nothing', async () => {
    const m = makeModel();
    const all = await arrays(m.getWeights());
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    await expect(
      reestimateBatchNorm(m, source(10), { batchSize: 2, signal: ac.signal, onProgress: () => ac.abort() }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);
    expect(await arrays(m.getWeights())).toEqual(all);
    m.dispose();
  });

  it('BNs inside a nested model are found under their scoped names; no BN is a no-op', async () => {
    const inner = tf.sequential({
      name: 'base',
      layers: [
        tf.layers.conv2d({ inputShape: [4, 4, 2], filters: 2, kernelSize: 1, name: 'c' }),
        tf.layers.batchNormalization({ name: 'bn', center: false, scale: false }),
      ],
    });
    // tfjs flattens a Sequential that starts a Sequential; inside a functional model it stays nested.
    const outer = tf.sequential({ layers: [inner, tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
    const input = tf.input({ shape: [4, 4, 2] });
    const flat = tf.layers.flatten().apply(inner.apply(input)) as tf.SymbolicTensor;
    const functional = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 2 }).apply(flat) as tf.SymbolicTensor,
    });
    for (const model of [outer, functional]) {
      const r = await reestimateBatchNorm(model, source(4));
      expect(r.layers.map((l) => l.layer)).toEqual(['base/bn']);
      expect(r.layers[0]!.variance.every((v) => v > 0)).toBe(true);
    }
    const plain = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 1 })] });
    expect((await reestimateBatchNorm(plain, source(2))).layers).toEqual([]);
    plain.dispose();
    outer.dispose(); // `functional` shares `inner`'s weights: disposing both would free them twice
  });
});
