import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel } from '../io/tf-artifacts';
import { analyseArtifacts, type OpenedModel } from '../load';
import { makeCostModel } from '../metrics/costs';
import { calibrateLatency, type TimedRun } from '../metrics/latency';
import { planLatency } from './latency-plan';
import { makeLatencyModel, type LatencyCalibration } from '../metrics/latency-model';
import { planLatencyMeasured } from './latency-verify';

/** Time passes only inside runs: a layer 0.01 ms per input x output channel, the whole model 10 ms. */
function fakeClock() {
  let t = 0;
  return {
    now: () => t,
    onRun: (r: TimedRun) => {
      if (r.kind === 'model') t += 10;
      else {
        const cin = r.inputShapes.reduce((n, s) => n + s[s.length - 1]!, 0);
        t += 0.01 * cin * (r.outChannels ?? cin);
      }
    },
  };
}

let opened: OpenedModel;
let cal: LatencyCalibration;
const scores = {
  c1: Float32Array.from({ length: 8 }, (_, i) => i),
  c2: Float32Array.from({ length: 6 }, (_, i) => i),
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ name: 'c1', inputShape: [6, 6, 2], filters: 8, kernelSize: 3, padding: 'same' }),
      tf.layers.reLU({ name: 'relu' }),
      tf.layers.conv2d({ name: 'c2', filters: 6, kernelSize: 1 }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ name: 'out', units: 3 }),
    ],
  });
  opened = analyseArtifacts(await artifactsFromLayersModel(m));
  m.dispose();
  const clock = fakeClock();
  // No check runs: the layer sums alone say pruning saves time, the fake whole model never changes.
  cal = await calibrateLatency(opened, { now: clock.now, onRun: clock.onRun, check: 0 });
});

describe('planLatencyMeasured', () => {
  const target = { kind: 'speedup' as const, factor: 1.2 };
  it('without measurements is planLatency', async () => {
    const costs = makeCostModel(opened.ir, opened.graph);
    const r = await planLatencyMeasured(opened, cal, scores, costs, target, { iterations: 0 });
    const plain = planLatency(opened.graph, scores, makeLatencyModel(cal, opened.graph), costs, target);
    expect(r.plan).toEqual(plain.plan);
    expect(r.proposals).toEqual([]);
    expect(r.verified).toBe(false);
  });
  it('measures, refits to the miss and re-plans, at most `iterations` times, leaving no tensors', async () => {
    const costs = makeCostModel(opened.ir, opened.graph);
    const clock = fakeClock();
    const before = tf.memory().numTensors;
    const r = await planLatencyMeasured(opened, cal, scores, costs, target, {
      timing: { now: clock.now, onRun: clock.onRun },
    });
    expect(tf.memory().numTensors).toBe(before);
    // The fake device never speeds up: each proposal measures 1x against a stated 1.2x or more.
    expect(r.proposals).toHaveLength(2);
    expect(r.proposals[0]!.predictedSpeedup).toBeGreaterThanOrEqual(1.2 - 1e-9);
    for (const p of r.proposals) expect(p.measuredSpeedup).toBe(1);
    expect(r.verified).toBe(false);
    expect(r.calibration.check?.exact).toBe(true);
  });
  it('stops at the first proposal within tolerance, stating it as verified', async () => {
    const costs = makeCostModel(opened.ir, opened.graph);
    const clock = fakeClock();
    const r = await planLatencyMeasured(opened, cal, scores, costs, target, {
      tolerance: 0.5,
      timing: { now: clock.now, onRun: clock.onRun },
    });
    expect(r.proposals).toHaveLength(1);
    expect(r.verified).toBe(true);
    expect(r.calibration).toBe(cal);
  });
});
