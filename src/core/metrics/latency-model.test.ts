import { describe, expect, it } from 'vitest';
import {
  calibrationKey,
  interpolateLatency,
  lowerEnvelope,
  makeLatencyModel,
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
