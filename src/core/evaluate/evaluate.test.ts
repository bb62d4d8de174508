import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateModels, topOneAgreement } from './evaluate';
import { sampleBatch, type SampleSet } from './sample-set';

const H = 4;
const W = 4;
const CLASSES = 3;

function tinyModel(
  seed: number,
  units = CLASSES,
  activation: 'softmax' | 'sigmoid' = 'softmax',
): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.flatten({ inputShape: [H, W, 1] }));
  m.add(
    tf.layers.dense({
      units,
      activation,
      kernelInitializer: tf.initializers.randomNormal({ seed, stddev: 1 }),
      biasInitializer: tf.initializers.randomNormal({ seed: seed + 100, stddev: 0.1 }),
    }),
  );
  return m;
}

function tinySet(count: number, labelled: boolean): SampleSet {
  let s = 7;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
  return {
    count,
    height: H,
    width: W,
    channels: 1,
    numClasses: CLASSES,
    pixels: Uint8Array.from({ length: count * H * W }, () => next() % 256),
    labels: labelled ? Uint8Array.from({ length: count }, () => next() % CLASSES) : null,
  };
}

/** The oracle: a plain predict loop over the same batches. */
async function plainPredictions(
  model: tf.LayersModel,
  set: SampleSet,
  batchSize: number,
): Promise<Int32Array> {
  const out = new Int32Array(set.count);
  for (let start = 0; start < set.count; start += batchSize) {
    const end = Math.min(set.count, start + batchSize);
    const x = sampleBatch(set, start, end);
    const y = model.predict(x) as tf.Tensor2D;
    const probs = await y.array();
    probs.forEach((row, i) => {
      out[start + i] = row.indexOf(Math.max(...row));
    });
    tf.dispose([x, y]);
  }
  return out;
}

describe('evaluateModels', () => {
  const models: tf.LayersModel[] = [];
  beforeAll(async () => {
    await tf.setBackend('cpu');
    models.push(tinyModel(1), tinyModel(2), tinyModel(3));
  });

  it('matches a plain predict loop: predictions, accuracy, agreement; frees every tensor', async () => {
    const set = tinySet(150, true);
    const before = tf.memory().numTensors;
    const result = await evaluateModels(models, set, { batchSize: 64 });
    expect(tf.memory().numTensors).toBe(before);

    expect(result.samples).toBe(150);
    const refs = await Promise.all(models.map((m) => plainPredictions(m, set, 64)));
    refs.forEach((ref, m) => {
      expect(Array.from(result.predictions[m]!)).toEqual(Array.from(ref));
      const hits = ref.filter((p, i) => p === set.labels![i]).length;
      expect(result.accuracy[m]).toBeCloseTo(hits / 150, 12);
    });
    const agree = (a: Int32Array, b: Int32Array): number => a.filter((v, i) => v === b[i]).length / a.length;
    expect(result.agreement).toBeCloseTo((agree(refs[0]!, refs[1]!) + agree(refs[0]!, refs[2]!)) / 2, 12);
    expect(topOneAgreement(result.predictions[0]!, result.predictions[1]!)).toBeCloseTo(
      agree(refs[0]!, refs[1]!),
      12,
    );
    // The test is only meaningful if the models disagree somewhere and are not all right or all wrong.
    expect(result.agreement).toBeGreaterThan(0);
    expect(result.agreement).toBeLessThan(1);
  });

  it('gives agreement 1 for a model against itself, null for one model, null accuracy without labels', async () => {
    const labelled = tinySet(40, true);
    const same = await evaluateModels([models[0]!, models[0]!], labelled);
    expect(same.agreement).toBe(1);
    expect(same.accuracy[0]).toBe(same.accuracy[1]);

    const single = await evaluateModels([models[0]!], labelled);
    expect(single.agreement).toBeNull();
    expect(single.accuracy[0]).not.toBeNull();

    const unlabelled = await evaluateModels(models.slice(0, 2), tinySet(40, false));
    expect(unlabelled.accuracy).toEqual([null, null]);
    expect(unlabelled.agreement).not.toBeNull();

    const empty = await evaluateModels(models.slice(0, 2), tinySet(0, true));
    expect(empty).toEqual({
      samples: 0,
      accuracy: [null, null],
      agreement: null,
      predictions: [new Int32Array(0), new Int32Array(0)],
    });
  });

  it('reports progress after each batch and yields between batches only', async () => {
    const progress: string[] = [];
    let yields = 0;
    await evaluateModels(models, tinySet(150, true), {
      batchSize: 64,
      onProgress: (done, total) => progress.push(`${done}/${total}`),
      yieldEvery: () => {
        yields++;
        progress.push('yield');
        return Promise.resolve();
      },
    });
    expect(progress).toEqual(['64/150', 'yield', '128/150', 'yield', '150/150']);
    expect(yields).toBe(2);
  });

  it('stops with an AbortError when the signal aborts, leaking nothing', async () => {
    const set = tinySet(150, true);
    const before = tf.memory().numTensors;

    const pre = new AbortController();
    pre.abort();
    await expect(evaluateModels(models, set, { signal: pre.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });

    const during = new AbortController();
    const seen: number[] = [];
    const run = evaluateModels(models, set, {
      batchSize: 32,
      signal: during.signal,
      onProgress: (done) => {
        seen.push(done);
        if (done === 64) during.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    await expect(run).rejects.toBeInstanceOf(Error);
    expect(seen).toEqual([32, 64]);

    const inYield = new AbortController();
    await expect(
      evaluateModels(models, set, {
        batchSize: 100,
        signal: inYield.signal,
        yieldEvery: () => {
          inYield.abort();
          return Promise.resolve();
        },
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reads a [n, 1] sigmoid output as class (p > 0.5)', async () => {
    const binary = tinyModel(4, 1, 'sigmoid');
    const set = { ...tinySet(30, false), numClasses: 2 };
    const result = await evaluateModels([binary], set, { batchSize: 8 });
    const x = sampleBatch(set, 0, 30);
    const p = (await (binary.predict(x) as tf.Tensor).data()) as Float32Array;
    x.dispose();
    expect(Array.from(result.predictions[0]!)).toEqual(Array.from(p, (v) => (v > 0.5 ? 1 : 0)));
    binary.dispose();
  });

  it('rejects unusable models and options without leaking', async () => {
    const before = tf.memory().numTensors;
    const input = tf.input({ shape: [H, W, 1] });
    const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    const twoHeads = tf.model({
      inputs: input,
      outputs: [
        tf.layers.dense({ units: 2 }).apply(flat) as tf.SymbolicTensor,
        tf.layers.dense({ units: 3 }).apply(flat) as tf.SymbolicTensor,
      ],
    });
    const set = tinySet(10, true);
    await expect(evaluateModels([models[0]!, twoHeads], set)).rejects.toThrow(/Model 1 .* 2 outputs/);
    const spatial = tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [H, W, 1], filters: 2, kernelSize: 1 })],
    });
    await expect(evaluateModels([spatial], set)).rejects.toThrow(/\[batch, classes\]/);
    await expect(evaluateModels([], set)).rejects.toThrow(/at least one model/);
    await expect(evaluateModels(models, set, { batchSize: 0 })).rejects.toThrow(RangeError);
    twoHeads.dispose();
    spatial.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('batchSizeFor', () => {
  it('keeps the two largest activations of a batch under the budget, between 1 and 64', async () => {
    const { batchSizeFor, BATCH_ACTIVATION_BUDGET } = await import('./evaluate');
    const mnist = [
      { outputShape: [null, 28, 28, 16] },
      { outputShape: [null, 14, 14, 32] },
      { outputShape: [null, 10] },
    ];
    expect(batchSizeFor(mnist)).toBe(64);
    const inception = [
      { outputShape: [null, 73, 73, 64] },
      { outputShape: [null, 73, 73, 64] },
      { outputShape: [null, 35, 35, 256] },
    ];
    const b = batchSizeFor(inception);
    expect(b * 4 * 2 * 73 * 73 * 64).toBeLessThanOrEqual(BATCH_ACTIVATION_BUDGET);
    expect((b + 1) * 4 * 2 * 73 * 73 * 64).toBeGreaterThan(BATCH_ACTIVATION_BUDGET);
    expect(batchSizeFor([{ outputShape: [null, 4096, 4096, 64] }])).toBe(1);
  });

  it('halves the budget for models with more than 64 MB of float32 weights, and only for them', async () => {
    const { batchSizeFor, BATCH_ACTIVATION_BUDGET, LARGE_WEIGHTS_BYTES } = await import('./evaluate');
    const layer = (weightElements: number) => ({
      outputShape: [null, 73, 73, 64],
      weights: [{ shape: [weightElements] }],
    });
    const perSample = 4 * 2 * 73 * 73 * 64;
    // Just under and just over the threshold, split over two layers' weights.
    const under = [layer(LARGE_WEIGHTS_BYTES / 8), layer(LARGE_WEIGHTS_BYTES / 8)];
    const over = [layer(LARGE_WEIGHTS_BYTES / 8), layer(LARGE_WEIGHTS_BYTES / 8 + 1)];
    expect(batchSizeFor(under)).toBe(Math.floor(BATCH_ACTIVATION_BUDGET / perSample));
    expect(batchSizeFor(over)).toBe(Math.floor(BATCH_ACTIVATION_BUDGET / 2 / perSample));
    expect(batchSizeFor(over)).toBeLessThan(batchSizeFor(under));
  });
});
