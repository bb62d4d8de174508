import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../io/tf-artifacts';
import { analyseArtifacts, type OpenedModel } from '../load';
import { modelFingerprint } from '../io/fingerprint';
import {
  calibrateLatency,
  calibrationCounts,
  compareModelLatency,
  measureModelLatency,
  median,
  type TimedRun,
} from './latency';
import { makeLatencyModel } from './latency-model';

/** image [6, 6, 2] -> c1 (8) -> bn -> relu -> c2 (6) -> gap -> out (3). */
function tiny(): tf.LayersModel {
  return tf.sequential({
    name: 'tiny_latency',
    layers: [
      tf.layers.conv2d({ name: 'c1', inputShape: [6, 6, 2], filters: 8, kernelSize: 3, padding: 'same' }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.reLU({ name: 'relu' }),
      tf.layers.conv2d({ name: 'c2', filters: 6, kernelSize: 1 }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ name: 'out', units: 3 }),
    ],
  });
}

/**
 * A fake clock: time passes only inside timed runs, by a synthetic cost. A layer run costs
 * 0.01 ms per input channel x output channel, plus 0.5 ms when it writes 7 channels (a "bad" count);
 * the whole model costs 10 ms.
 */
function fakeClock() {
  let t = 0;
  const runs: TimedRun[] = [];
  return {
    runs,
    now: () => t,
    onRun: (r: TimedRun) => {
      runs.push(r);
      if (r.kind === 'model') t += 10;
      else t += cost(r);
    },
  };
}

function cost(r: TimedRun): number {
  const cin = r.inputShapes.reduce((n, s) => n + s[s.length - 1]!, 0);
  const cout = r.outChannels ?? cin;
  return 0.01 * cin * cout + (cout === 7 ? 0.5 : 0);
}

let opened: OpenedModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tiny();
  opened = analyseArtifacts(await artifactsFromLayersModel(m));
  m.dispose();
});

describe('calibrateLatency with an injected clock', () => {
  it('times every changed layer at full size and at each kept count, exactly the synthetic cost', async () => {
    const clock = fakeClock();
    const before = tf.memory().numTensors;
    const progress: [number, number][] = [];
    const cal = await calibrateLatency(opened, {
      now: clock.now,
      onRun: clock.onRun,
      backend: 'fake',
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(cal.baselineMs).toBe(10);
    expect(cal.backend).toBe('fake');
    expect(cal.fingerprint).toBe(modelFingerprint(opened.ir));
    expect(cal.skipped).toEqual([]);
    expect(cal.groups).toEqual([
      { producer: 'c1', size: 8, counts: [...calibrationCounts(8), 8], cluster: 'plain' },
      { producer: 'c2', size: 6, counts: [...calibrationCounts(6), 6], cluster: 'plain' },
    ]);
    // c1's group (8 channels) changes c1 (out), bn, relu (both) and c2 (in); c2's changes c2 (out), gap (both), out (in).
    const c2 = cal.layers.find((l) => l.name === 'c2')!;
    expect(c2.ms).toBeCloseTo(0.01 * 8 * 6, 9);
    expect(c2.effects.map((e) => [e.group, e.axis])).toEqual([
      ['c1', 'in'],
      ['c2', 'out'],
    ]);
    for (const p of c2.effects[0]!.points) expect(p.ms).toBeCloseTo(0.01 * p.kept * 6, 9); // 6 output channels: no bump
    for (const p of c2.effects[1]!.points)
      expect(p.ms).toBeCloseTo(0.01 * 8 * p.kept + (p.kept === 7 ? 0.5 : 0), 9);
    const c1 = cal.layers.find((l) => l.name === 'c1')!;
    const seven = c1.effects[0]!.points.find((p) => p.kept === 7)!;
    expect(seven.ms).toBeCloseTo(0.01 * 2 * 7 + 0.5, 9); // the bump is measured
    expect(cal.layers.find((l) => l.name === 'bn')!.effects.map((e) => [e.group, e.axis])).toEqual([
      ['c1', 'both'],
    ]);
    expect(cal.layerSumMs).toBeCloseTo(
      cal.layers.reduce((n, l) => n + l.ms, 0),
      9,
    );
    // progress ends at its total, step by step
    expect(progress[progress.length - 1]![0]).toBe(progress[progress.length - 1]![1]);
    expect(progress.map((p) => p[0])).toEqual(progress.map((_, i) => i + 1));
    // deterministic: a second calibration gives the same table
    const again = fakeClock();
    const cal2 = await calibrateLatency(opened, { now: again.now, onRun: again.onRun, backend: 'fake' });
    expect({ ...cal2, seconds: 0 }).toEqual({ ...cal, seconds: 0 });
  });

  it('feeds the latency model: the planner avoids the bump at 7 kept in c1', async () => {
    const clock = fakeClock();
    const cal = await calibrateLatency(opened, {
      now: clock.now,
      onRun: clock.onRun,
      fractions: [0.875, 0.75, 0.5],
    });
    const m = makeLatencyModel(cal, opened.graph);
    const curve = m.groupCurve('c1')!;
    expect(curve.map((p) => p.kept)).toEqual([4, 6, 7, 8]);
    const at = (k: number) => curve.find((p) => p.kept === k)!.ms;
    expect(at(7)).toBeGreaterThan(at(6));
  });

  it('adds a check run per cluster, the groups of that cluster pruned by half, alternated with the original', async () => {
    const clock = fakeClock();
    const progress: [number, number][] = [];
    const cal = await calibrateLatency(opened, {
      now: clock.now,
      onRun: clock.onRun,
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(cal.check).toEqual({ kept: { c1: 6, c2: 5 }, ms: 10, baselineMs: 10 });
    expect(cal.checks).toEqual([{ kept: { c1: 4, c2: 3 }, ms: 10, baselineMs: 10, cluster: 'plain' }]);
    // each check: a warm-up of each side (2 runs and 1), then 5 alternated pairs = 16 model runs; 2 checks
    expect(clock.runs.filter((r) => r.kind === 'model').length).toBe(2 * 16);
    const m = makeLatencyModel(cal, opened.graph);
    expect(Object.keys(m.scales!)).toEqual(['plain']);

    const plain = fakeClock();
    const progress0: [number, number][] = [];
    const cal0 = await calibrateLatency(opened, {
      now: plain.now,
      onRun: plain.onRun,
      clusterCheck: 0,
      onProgress: (d, t) => progress0.push([d, t]),
    });
    expect(cal0.checks).toBeUndefined();
    expect(plain.runs.filter((r) => r.kind === 'model').length).toBe(16);
    // one more progress step, one per cluster check
    expect(progress[progress.length - 1]![1]).toBe(progress0[progress0.length - 1]![1] + 1);
  });

  it('is cancelled after a cluster check too, leaving no tensors', async () => {
    const clock = fakeClock();
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const p = calibrateLatency(opened, {
      now: clock.now,
      onRun: clock.onRun,
      signal: controller.signal,
      onProgress: (d, t) => {
        if (d === t - 1) controller.abort(); // after the cluster check, before the global one
      },
    });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);
    expect(clock.runs.filter((r) => r.kind === 'model').length).toBe(16);
  });

  it('is cancelled by its signal with an AbortError, leaving no tensors', async () => {
    const clock = fakeClock();
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    let calls = 0;
    const p = calibrateLatency(opened, {
      now: clock.now,
      onRun: clock.onRun,
      signal: controller.signal,
      onProgress: () => {
        if (++calls === 2) controller.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('measureModelLatency and compareModelLatency', () => {
  it('take the median of the repeats after warm-up, and alternate the two sides', async () => {
    const clock = fakeClock();
    const model = await loadLayersModelFromArtifacts(opened.artifacts);
    const s = await measureModelLatency(model, { now: clock.now, onRun: clock.onRun, warmup: 2, repeats: 3 });
    expect(s).toEqual({ medianMs: 10, minMs: 10, maxMs: 10, samples: [10, 10, 10] });
    expect(clock.runs.length).toBe(5);
    const order: string[] = [];
    const other = tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [4, 4, 2], filters: 2, kernelSize: 1 })],
    });
    const c = await compareModelLatency(model, other, {
      now: clock.now,
      onRun: (r) => {
        order.push(r.inputShapes[0]![1] === 6 ? 'A' : 'B');
        clock.onRun(r);
      },
      repeats: 4,
    });
    expect(c.ratio).toBe(1);
    expect(c.a.samples).toEqual([10, 10, 10, 10]);
    // a warm-up and a first run of each, then A B A B ...
    expect(order.join('')).toBe('AABB' + 'AB'.repeat(4));
    model.dispose();
    other.dispose();
  });

  it('sub-millisecond models: a sample runs each side the same number of times, enough to last 10 ms', async () => {
    let t = 0;
    const order: string[] = [];
    const model = await loadLayersModelFromArtifacts(opened.artifacts);
    const other = tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [4, 4, 2], filters: 2, kernelSize: 1 })],
    });
    // A costs 0.25 ms a run, B 0.5 ms: one run each would sit at a browser clock's 0.1 ms resolution.
    const c = await compareModelLatency(model, other, {
      now: () => t,
      onRun: (r) => {
        const isA = r.inputShapes[0]![1] === 6;
        order.push(isA ? 'A' : 'B');
        t += isA ? 0.25 : 0.5;
      },
      repeats: 3,
    });
    // 10 ms / 0.25 ms = 40 runs of each side per sample.
    expect(order.join('')).toBe('AABB' + ('A'.repeat(40) + 'B'.repeat(40)).repeat(3));
    expect(c.a.medianMs).toBeCloseTo(0.25, 2);
    expect(c.b.medianMs).toBeCloseTo(0.5, 2);
    expect(c.ratio).toBeCloseTo(0.5, 2);
    model.dispose();
    other.dispose();
  });

  it('median of an even count is the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5])).toBe(5);
  });
});
