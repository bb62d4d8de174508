import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectProbabilities } from '../evaluate/compare';
import { floatSource, type SampleSource } from '../evaluate/sample-source';
import { fineTune } from './fine-tune';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * A tiny synthetic problem: 4x4x1 images of noise, class 1 when the right half is brighter than the
 * left. Linearly separable, but a random network starts near chance.
 */
function halves(count: number, seed: number, labelled = true): SampleSource {
  let s = seed;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) / 2 ** 24;
  };
  const values = new Float32Array(count * 16);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const cls = i % 2;
    labels[i] = cls;
    for (let p = 0; p < 16; p++) {
      const right = p % 4 >= 2;
      values[i * 16 + p] = next() * 0.6 + (right === (cls === 1) ? 0.4 : 0);
    }
  }
  return floatSource({
    count,
    height: 4,
    width: 4,
    channels: 1,
    numClasses: 2,
    values,
    labels: labelled ? labels : null,
  });
}

function student(seed: number, opts: { bnScale?: boolean } = {}): tf.Sequential {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [4, 4, 1],
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        kernelInitializer: init(seed),
      }),
      tf.layers.batchNormalization({ scale: opts.bnScale ?? true }),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dropout({ rate: 0.1, seed }),
      tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(seed + 1) }),
    ],
  });
}

async function accuracy(model: tf.LayersModel, source: SampleSource): Promise<number> {
  const { probs } = await collectProbabilities([model], source);
  let hits = 0;
  for (let i = 0; i < source.count; i++) {
    const p = probs[0]!;
    if ((p[2 * i + 1]! > p[2 * i]! ? 1 : 0) === source.labels![i]) hits++;
  }
  return hits / source.count;
}

describe('fineTune', () => {
  it('improves accuracy on a tiny problem, keeps the best epoch, and leaks no tensors', async () => {
    const model = student(11);
    const train = halves(64, 1);
    const val = halves(32, 2);
    const before = tf.memory().numTensors;
    const epochs: number[] = [];
    let batches = 0;
    const r = await fineTune(model, train, val, {
      epochs: 8,
      batchSize: 16,
      learningRate: 0.03,
      onEpoch: (e) => epochs.push(e.epoch),
      onBatch: () => batches++,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(batches).toBe(8 * 4);
    expect(r.selectedBy).toBe('val-accuracy');
    expect(r.after.accuracy!).toBeGreaterThanOrEqual(0.9);
    expect(r.after.accuracy!).toBeGreaterThan(r.before.accuracy!);
    const best = r.bestEpoch === 0 ? r.before.accuracy : r.history[r.bestEpoch - 1]!.valAccuracy;
    expect(best).toBe(Math.max(r.before.accuracy!, ...r.history.map((h) => h.valAccuracy!)));
    // The model now holds the best epoch's weights.
    expect(await accuracy(model, val)).toBe(r.after.accuracy);
    expect(r.history[0]!.loss).toBeGreaterThan(r.history[r.history.length - 1]!.loss);
    model.dispose();
  });

  it('distils from a teacher without labels: the KL to the teacher falls', async () => {
    const teacher = student(3);
    const model = student(4);
    const train = halves(48, 5, false);
    const val = halves(24, 6, false);
    const before = tf.memory().numTensors;
    const r = await fineTune(model, train, val, {
      epochs: 5,
      batchSize: 12,
      learningRate: 0.02,
      teacher,
      temperature: 2,
      alpha: 0.3,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.alpha).toBe(1);
    expect(r.notes.join(' ')).toMatch(/pure distillation/);
    expect(r.selectedBy).toBe('val-kl');
    expect(r.history.every((h) => h.accuracy === null && h.valAccuracy === null)).toBe(true);
    expect(r.after.kl!).toBeLessThan(r.before.kl! * 0.7);
    expect(r.after.agreement!).toBeGreaterThanOrEqual(r.before.agreement!);
    teacher.dispose();
    model.dispose();
  });

  it('mixes labels and soft targets; sgd and momentum run too', async () => {
    const teacher = student(8);
    for (const optimizer of ['sgd', 'momentum'] as const) {
      const model = student(9);
      const before = tf.memory().numTensors;
      const r = await fineTune(model, halves(32, 1), halves(16, 2), {
        epochs: 2,
        batchSize: 8,
        optimizer,
        teacher,
        alpha: 0.5,
      });
      expect(tf.memory().numTensors).toBe(before);
      expect(r.optimizer).toBe(optimizer);
      expect(r.learningRate).toBe(0.01);
      expect(r.history.length).toBe(2);
      expect(r.history.every((h) => Number.isFinite(h.loss) && h.valKl !== null)).toBe(true);
      model.dispose();
    }
    teacher.dispose();
  });

  it('Stop keeps the best weights so far and reports the partial epoch', async () => {
    const model = student(12);
    const val = halves(16, 2);
    const ac = new AbortController();
    const before = tf.memory().numTensors;
    const r = await fineTune(model, halves(64, 1), val, {
      epochs: 50,
      batchSize: 8,
      signal: ac.signal,
      onBatch: (b) => {
        if (b.epoch === 2 && b.batch === 3) ac.abort();
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.stopped).toBe(true);
    expect(r.history.length).toBe(2);
    expect(r.history[1]).toMatchObject({ partial: true, batches: 3 });
    expect(await accuracy(model, val)).toBe(r.after.accuracy);
    model.dispose();
  });

  it('a BN without gamma trains frozen; no labels and no teacher is an error', async () => {
    const model = student(13, { bnScale: false });
    const r = await fineTune(model, halves(16, 1), halves(8, 2), { epochs: 1, batchSize: 8 });
    expect(r.batchNorm).toBe('frozen');
    expect(r.notes.join(' ')).toMatch(/frozen/);
    await expect(fineTune(model, halves(8, 1, false), halves(8, 2), { epochs: 1 })).rejects.toThrow(
      /labelled samples or a teacher/,
    );
    model.dispose();
  });
});
