import { describe, expect, it } from 'vitest';
import type { ChannelGroup } from '../graph/types';
import {
  calibrationKey,
  fitClusterScales,
  interpolateLatency,
  latencyCluster,
  solveLinear,
  type LatencyCalibration,
  lowerEnvelope,
  makeLatencyModel,
  refitToMeasurement,
  type LatencyPoint,
} from './latency-model';
import { syntheticCalibration, twoGroupGraph } from './latency-fixtures';

const keep = (size: number, kept: number) => Array.from({ length: size - kept }, (_, i) => i);

describe('interpolateLatency', () => {
  const points: LatencyPoint[] = [
    { kept: 2, ms: 1 },
    { kept: 4, ms: 3 },
    { kept: 10, ms: 6 },
  ];
  it('is exact at every measured count', () => {
    for (const p of points) expect(interpolateLatency(points, p.kept)).toBe(p.ms);
  });
  it('is linear between two measured counts and flat beyond the ends', () => {
    expect(interpolateLatency(points, 3)).toBe(2);
    expect(interpolateLatency(points, 6)).toBe(4);
    expect(interpolateLatency(points, 1)).toBe(1);
    expect(interpolateLatency(points, 12)).toBe(6);
    expect(interpolateLatency([], 3)).toBeNaN();
  });
});

describe('lowerEnvelope', () => {
  it('marks the bump of the docstring example and never rises as channels go', () => {
    const curve = [5, 7, 6, 9].map((ms, i) => ({ kept: i + 1, ms }));
    const { envelope, on } = lowerEnvelope(curve);
    expect(envelope.map((p) => p.ms)).toEqual([5, 6, 6, 9]);
    expect(on).toEqual([true, false, true, true]);
  });
  it('is monotone non-decreasing in kept channels on noisy curves, and equals the curve where marked', () => {
    let s = 7;
    const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let trial = 0; trial < 50; trial++) {
      const curve = Array.from({ length: 20 }, (_, i) => ({ kept: i + 1, ms: i + 1 + 6 * rand() }));
      const { envelope, on } = lowerEnvelope(curve);
      for (let i = 1; i < envelope.length; i++)
        expect(envelope[i]!.ms).toBeGreaterThanOrEqual(envelope[i - 1]!.ms);
      envelope.forEach((p, i) => {
        expect(p.ms).toBeLessThanOrEqual(curve[i]!.ms);
        if (on[i]) expect(p.ms).toBe(curve[i]!.ms);
        else expect(p.ms).toBeLessThan(curve[i]!.ms);
      });
      expect(on[on.length - 1]).toBe(true);
    }
  });
});

describe('makeLatencyModel', () => {
  const graph = twoGroupGraph();
  it('predicts the baseline for the empty plan and the measured points for one group', () => {
    const m = makeLatencyModel(syntheticCalibration(), graph);
    expect(m.scale).toBe(1);
    expect(m.predict({ version: 1, remove: {} })).toBe(20);
    // g0 at 4: L0 4 -> 2, L1 8 -> 4.
    expect(m.predict({ version: 1, remove: { g0: keep(8, 4) } })).toBeCloseTo(14, 12);
    // g1 at 12: L1 8 -> 6, L2 4 -> 2.5.
    expect(m.predict({ version: 1, remove: { g1: keep(16, 12) } })).toBeCloseTo(16.5, 12);
    // between measured counts: g0 at 3 -> L0 1.5, L1 3.
    expect(m.predict({ version: 1, remove: { g0: keep(8, 3) } })).toBeCloseTo(20 - 2.5 - 5, 12);
  });
  it('multiplies the input and output axes of a layer (bilinear), adds layers', () => {
    const m = makeLatencyModel(syntheticCalibration(), graph);
    // g0 at 4 and g1 at 8: L0 -2; L1 8 * (4/8) * (4/8) = 2, so -6; L2 5 - 4 = +1.
    expect(m.predict({ version: 1, remove: { g0: keep(8, 4), g1: keep(16, 8) } })).toBeCloseTo(13, 12);
  });
  it('scales the deltas by baseline / sum of layers alone', () => {
    const m = makeLatencyModel(syntheticCalibration(40), graph);
    expect(m.scale).toBe(0.5);
    expect(m.predict({ version: 1, remove: { g0: keep(8, 4) } })).toBeCloseTo(17, 12);
  });
  it('gives each group alone as a curve at its measured counts, with the bump', () => {
    const m = makeLatencyModel(syntheticCalibration(), graph);
    expect(m.groupCurve('g1')).toEqual([
      { kept: 4, ms: 20 - 6 - 3 },
      { kept: 8, ms: 20 - 4 + 1 },
      { kept: 12, ms: 20 - 2 - 1.5 },
      { kept: 16, ms: 20 },
    ]);
    expect(m.groupCurve('nope')).toBeUndefined();
    expect(m.groups).toEqual(['g0', 'g1']);
  });
  it('ignores plans naming unknown groups or out-of-range channels', () => {
    const m = makeLatencyModel(syntheticCalibration(), graph);
    expect(m.predict({ version: 1, remove: { zz: [0], g0: [99, -1] } })).toBe(20);
  });
  it('keys a calibration by fingerprint, backend and batch', () => {
    expect(calibrationKey('abc', 'wasm')).toBe('abc|wasm|1');
    expect(calibrationKey('abc', 'webgl', 8)).not.toBe(calibrationKey('abc', 'wasm', 8));
  });
});

describe('per-cluster scales fitted to check runs', () => {
  const graph = twoGroupGraph();
  /** Clusters a (g0) and b (g1); true scales 0.5 (a) and 1 (b); the worked numbers are in the comments. */
  const clustered = (): LatencyCalibration => {
    const cal = syntheticCalibration();
    cal.groups[0]!.cluster = 'a';
    cal.groups[1]!.cluster = 'b';
    // Both pruned (g0 4, g1 8): L0 -2 (a); L1 -6, shared half and half (a -3, b -3); L2 +1 (b).
    // Raw a -5, b -2; measured 0.5 * -5 + 1 * -2 = -4.5.
    cal.check = { kept: { g0: 4, g1: 8 }, ms: 15.5, baselineMs: 20 };
    cal.checks = [
      // g0 alone at 4: raw a -6, measured -3, alternated with an original that ran at 40 ms (drift).
      { kept: { g0: 4 }, ms: 34, baselineMs: 40, cluster: 'a' },
      // g1 alone at 8: raw b -4 + 1 = -3, measured -3.
      { kept: { g1: 8 }, ms: 17, baselineMs: 20, cluster: 'b' },
    ];
    return cal;
  };
  it('recovers the over-rated cluster its own scale (the drifted check read as a ratio), capping the other at the global one', () => {
    const m = makeLatencyModel(clustered(), graph);
    expect(m.scale).toBeCloseTo(4.5 / 7, 12);
    expect(m.scales!['a']).toBeCloseTo(0.5, 1);
    // b's checks say 1, above the global scale: capped there, never leaned on more than the average.
    expect(m.scales!['b']).toBeCloseTo(4.5 / 7, 12);
    // g0 alone at 4: 20 + 0.5 * -6 = 17, where one global scale (4.5 / 7) would say 16.1.
    expect(m.predict({ version: 1, remove: { g0: keep(8, 4) } })).toBeCloseTo(17, 0);
  });
  it('leaves both clusters free when neither is above the global scale', () => {
    const cal = clustered();
    cal.checks![1]!.ms = 20 - 3 * (4.5 / 7); // b measured at the global scale
    const m = makeLatencyModel(cal, graph);
    expect(m.scales!['a']).toBeLessThan(m.scale - 0.05);
    expect(m.scales!['b']).toBeLessThanOrEqual(m.scale);
  });
  it('refits to a measured plan exactly, its old check kept as one more equation', () => {
    const before = makeLatencyModel(clustered(), graph);
    const plan = { version: 1 as const, remove: { g0: keep(8, 4), g1: keep(16, 12) } };
    const refit = refitToMeasurement(clustered(), graph, plan, 17.5, 20);
    expect(refit.checks).toHaveLength(3);
    const m = makeLatencyModel(refit, graph);
    expect(m.predict(plan)).toBeCloseTo(17.5, 9);
    expect(Object.keys(m.scales!)).toEqual(['a', 'b']);
    expect(m.predict(plan)).not.toBeCloseTo(before.predict(plan), 1);
  });
  it('keeps one global scale without cluster checks', () => {
    const cal = clustered();
    delete cal.checks;
    const m = makeLatencyModel(cal, graph);
    expect(m.scales).toBeUndefined();
    expect(m.predict({ version: 1, remove: { g0: keep(8, 4) } })).toBeCloseTo(20 - (6 * 4.5) / 7, 12);
  });
});

describe('fitClusterScales', () => {
  it('solves consistent checks exactly when the prior is negligible, and clamps to 0.2..2', () => {
    const raw = [
      [-10, 0],
      [0, -8],
      [-5, -4],
    ];
    const s = fitClusterScales(raw, [-5, -12, -8.5], 1, 1e-6);
    expect(s[0]).toBeCloseTo(0.5, 6);
    expect(s[1]).toBeCloseTo(1.5, 6);
    expect(fitClusterScales([[-1]], [-10], 1, 1e-6)).toEqual([2]);
    expect(fitClusterScales([[-1]], [0.5], 1, 1e-6)).toEqual([0.2]);
    expect(fitClusterScales([[-1]], [-1.5], 1, 1e-6, undefined, 1.2)).toEqual([1.2]);
  });
  it('leaves a cluster whose checks saved next to nothing near the global scale', () => {
    const s = fitClusterScales(
      [
        [-10, -0.01],
        [0, -0.02],
      ],
      [-5, -0.1],
      0.7,
      0.5,
    );
    expect(s[0]).toBeCloseTo(0.5, 1);
    expect(s[1]).toBeCloseTo(0.7, 1);
  });
  it('solves a small linear system and reports a singular one', () => {
    expect(
      solveLinear(
        [
          [2, 1],
          [1, 3],
        ],
        [3, 5],
      )!.map((x) => +x.toFixed(9)),
    ).toEqual([0.8, 1.4]);
    expect(
      solveLinear(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 2],
      ),
    ).toBeUndefined();
  });
});

describe('latencyCluster', () => {
  const group = (producers: string[], members: ChannelGroup['members']): ChannelGroup => ({
    id: 0,
    producer: producers[0]!,
    producers,
    size: 8,
    members,
    prunable: true,
  });
  it('names merges, depthwise expansions and plain groups', () => {
    const p = { layer: 'a', role: 'producer' as const, className: 'Conv2D' };
    const dw = { layer: 'd', role: 'channelwise' as const, className: 'DepthwiseConv2D' };
    const bn = { layer: 'n', role: 'channelwise' as const, className: 'BatchNormalization' };
    expect(latencyCluster(group(['a', 'b'], [p, dw]))).toBe('merge');
    expect(latencyCluster(group(['a'], [p, dw]))).toBe('depthwise');
    expect(latencyCluster(group(['a'], [p, bn]))).toBe('plain');
  });
});
