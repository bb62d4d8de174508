import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareModels, collectProbabilities } from './compare';
import { evaluateModels } from './evaluate';
import {
  classificationMetrics,
  labelRank,
  meanKlDivergence,
  measureLatency,
  median,
  topOneClasses,
} from './metrics';
import { floatSource, splitSource, subsetSource, asSampleSource } from './sample-source';
import type { SampleSet } from './sample-set';

/** Plain-loop oracle: sort each row's classes by descending score (stable: lower index first on ties). */
function oracle(probs: number[][], labels: number[], classes: number) {
  const size = classes;
  const confusion = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  let top1 = 0;
  let top5 = 0;
  const count = new Array<number>(size).fill(0);
  const correct = new Array<number>(size).fill(0);
  probs.forEach((row, r) => {
    const order = row
      .map((p, j) => [p, j] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .map(([, j]) => j);
    const label = labels[r]!;
    confusion[label]![order[0]!]!++;
    count[label]!++;
    if (order[0] === label) {
      top1++;
      correct[label]!++;
    }
    if (order.slice(0, 5).includes(label)) top5++;
  });
  return {
    top1: top1 / probs.length,
    top5: top5 / probs.length,
    confusion: confusion.flat(),
    count,
    correct,
  };
}

const rowsArb = (classes: number) =>
  fc.array(
    fc.tuple(
      fc.array(fc.integer({ min: 0, max: 4 }), { minLength: classes, maxLength: classes }),
      fc.integer({ min: 0, max: classes - 1 }),
    ),
    { minLength: 1, maxLength: 30 },
  );

describe('classificationMetrics vs plain loops', () => {
  it('top-1, top-5, per-class and confusion agree on random rows with many ties', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((k) => rowsArb(k).map((rows) => ({ k, rows }))),
        ({ k, rows }) => {
          const probs = Float32Array.from(rows.flatMap(([r]) => r));
          const labels = rows.map(([, l]) => l);
          const m = classificationMetrics(probs, k, labels);
          const o = oracle(
            rows.map(([r]) => r),
            labels,
            k,
          );
          expect(m.top1).toBeCloseTo(o.top1, 10);
          expect(m.top5).toBeCloseTo(o.top5, 10);
          expect(m.topK).toBe(Math.min(5, k));
          expect(Array.from(m.confusion)).toEqual(o.confusion);
          expect(m.perClass.map((c) => c.count)).toEqual(o.count);
          expect(m.perClass.map((c) => c.correct)).toEqual(o.correct);
          m.perClass.forEach((c) => expect(c.accuracy).toBe(c.count === 0 ? null : c.correct / c.count));
          const top = topOneClasses(probs, k);
          rows.forEach(([, l], r) => expect(labelRank(probs, k, r, l) === 0).toBe(top[r] === l));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a worked example', () => {
    const m = classificationMetrics(Float32Array.of(0.9, 0.1, 0.6, 0.4), 2, [0, 1]);
    expect(m.top1).toBe(0.5);
    expect(Array.from(m.confusion)).toEqual([1, 0, 1, 0]);
    expect(m.perClass).toEqual([
      { label: 0, count: 1, correct: 1, accuracy: 1 },
      { label: 1, count: 1, correct: 0, accuracy: 0 },
    ]);
    expect(classificationMetrics(new Float32Array(0), 3, []).top1).toBeNull();
  });

  it('rejects labels outside the matrix', () => {
    expect(() => classificationMetrics(Float32Array.of(1, 0), 2, [2])).toThrow(/Label 2/);
  });
});

describe('meanKlDivergence', () => {
  it('matches the hand value and a plain loop', () => {
    expect(meanKlDivergence(Float32Array.of(0.5, 0.5), Float32Array.of(0.25, 0.75), 2)).toBeCloseTo(
      0.5 * Math.log(2) + 0.5 * Math.log(2 / 3),
      6,
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.float({ min: Math.fround(0.01), max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
          {
            minLength: 2,
            maxLength: 10,
          },
        ),
        (rows) => {
          const norm = (r: number[]) => r.map((v) => v / r.reduce((a, b) => a + b, 0));
          const p = rows.map(norm);
          const q = rows.map((r) => norm([...r].reverse()));
          let sum = 0;
          p.forEach((row, i) => row.forEach((v, j) => (sum += v * Math.log(v / q[i]![j]!))));
          const got = meanKlDivergence(Float32Array.from(p.flat()), Float32Array.from(q.flat()), 3)!;
          expect(got).toBeCloseTo(sum / rows.length, 4);
        },
      ),
    );
    expect(meanKlDivergence(Float32Array.of(1, 0), Float32Array.of(1, 0), 2)).toBe(0);
    expect(meanKlDivergence(new Float32Array(0), new Float32Array(0), 2)).toBeNull();
  });
});

describe('median and measureLatency', () => {
  it('median of odd and even lists', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('times warm-up + runs with the given clock and reports the median', async () => {
    await tf.setBackend('cpu');
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    // Each run reads the clock twice; durations 100 (warm-up), 5, 9, 1, 7.
    const durations = [100, 5, 9, 1, 7];
    const ticks: number[] = [];
    let t = 0;
    for (const d of durations) ticks.push(t, (t += d));
    let i = 0;
    const before = tf.memory().numTensors;
    const r = await measureLatency(m, { warmup: 1, runs: 4, now: () => ticks[i++]! });
    expect(r.runsMs).toEqual([5, 9, 1, 7]);
    expect(r.medianMs).toBe(6);
    expect(r.perImageMs).toBe(6);
    expect(r.backend).toBe('cpu');
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});

describe('sources, splits and compareModels', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const set: SampleSet = {
    count: 40,
    height: 2,
    width: 2,
    channels: 1,
    numClasses: 3,
    pixels: Uint8Array.from({ length: 160 }, (_, i) => (i * 37) % 256),
    labels: Uint8Array.from({ length: 40 }, (_, i) => (i < 20 ? 0 : i < 32 ? 1 : 2)),
  };

  it('splitSource is deterministic, disjoint, complete and stratified', () => {
    const source = asSampleSource(set);
    const a = splitSource(source, 0.25, 7);
    const b = splitSource(source, 0.25, 7);
    expect(Array.from(a.valIndices)).toEqual(Array.from(b.valIndices));
    expect([...a.trainIndices, ...a.valIndices].sort((x, y) => x - y)).toEqual([...Array(40).keys()]);
    const valLabels = Array.from(a.val.labels!);
    expect(valLabels.filter((l) => l === 0).length).toBe(5);
    expect(valLabels.filter((l) => l === 1).length).toBe(3);
    expect(valLabels.filter((l) => l === 2).length).toBe(2);
    expect(Array.from(splitSource(source, 0.25, 8).valIndices)).not.toEqual(Array.from(a.valIndices));
  });

  it('a subset reads the parent samples it names', async () => {
    const source = asSampleSource(set);
    const sub = subsetSource(source, [5, 2, 9]);
    const [x, y] = [sub.batch(1, 3), source.gather([2, 9])];
    expect(Array.from(await x.data())).toEqual(Array.from(await y.data()));
    tf.dispose([x, y]);
    expect(Array.from(sub.labels!)).toEqual([0, 0, 0]);
    expect(() => sub.batch(0, 4)).toThrow(RangeError);
  });

  function model(seed: number, activation: 'softmax' | 'linear'): tf.LayersModel {
    return tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [2, 2, 1] }),
        tf.layers.dense({
          units: 3,
          activation,
          kernelInitializer: tf.initializers.randomNormal({ seed, stddev: 3 }),
        }),
      ],
    });
  }

  it('compareModels agrees with a plain predict loop and with evaluateModels', async () => {
    const original = model(1, 'softmax');
    const pruned = model(2, 'linear');
    const before = tf.memory().numTensors;
    const result = await compareModels([original, pruned], set, { batchSize: 7 });
    const evaluated = await evaluateModels([original, pruned], set, { batchSize: 7 });
    expect(tf.memory().numTensors).toBe(before);

    const x = asSampleSource(set).batch(0, set.count);
    const p0 = (await (original.predict(x) as tf.Tensor).array()) as number[][];
    const logits = pruned.predict(x) as tf.Tensor;
    const p1 = (await tf.softmax(logits).array()) as number[][];
    tf.dispose([x, logits]);
    const labels = Array.from(set.labels!);
    const o0 = oracle(p0, labels, 3);
    const o1 = oracle(p1, labels, 3);
    expect(result.models[0]!.metrics!.top1).toBeCloseTo(o0.top1, 10);
    expect(result.models[1]!.metrics!.top1).toBeCloseTo(o1.top1, 10);
    expect(Array.from(result.models[1]!.metrics!.confusion)).toEqual(o1.confusion);
    expect(result.models.map((m) => m.metrics!.top1)).toEqual(evaluated.accuracy);
    expect(result.models[1]!.agreement).toBe(evaluated.agreement);
    let kl = 0;
    p0.forEach((row, i) =>
      row.forEach((p, j) => (kl += p > 0 ? p * Math.log(p / Math.max(p1[i]![j]!, 1e-7)) : 0)),
    );
    expect(result.models[1]!.klFromOriginal).toBeCloseTo(kl / set.count, 4);
    expect(result.models[0]!.klFromOriginal).toBeCloseTo(0, 6);
    expect(result.models[0]!.agreement).toBe(1);
    original.dispose();
    pruned.dispose();
  });

  it('works unlabelled and with a float source; evaluateModels takes a source too', async () => {
    const m = model(3, 'softmax');
    const source = floatSource({
      count: 3,
      height: 2,
      width: 2,
      channels: 1,
      numClasses: 3,
      values: Float32Array.from({ length: 12 }, (_, i) => i / 12),
      labels: null,
    });
    const r = await compareModels([m, m], source);
    expect(r.models[1]!.metrics).toBeNull();
    expect(r.models[1]!.agreement).toBe(1);
    const e = await evaluateModels([m], source);
    expect(e.accuracy).toEqual([null]);
    const { probs } = await collectProbabilities([m], source);
    probs[0]!.forEach((p) => expect(p).toBeGreaterThanOrEqual(0));
    m.dispose();
  });
});
