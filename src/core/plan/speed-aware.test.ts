import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CostModel } from '../metrics/costs';
import type { LatencyModel } from '../metrics/latency-model';
import { twoGroupGraph } from '../metrics/latency-fixtures';
import { planGlobal } from './global';
import type { PruningPlan } from './plan';
import {
  importanceRemoved,
  planGlobalForSpeed,
  SPEED_STRENGTHS,
  timePerFlopFactors,
  weightScores,
} from './speed-aware';
import { validatePlan } from './validate';

const graph = twoGroupGraph(); // g0: 8 channels, g1: 16
const removed = (plan: PruningPlan, g: string) => plan.remove[g]?.length ?? 0;

/** FLOPs: `flopsPer` per kept channel of each group, nothing else. */
function costsOf(flopsPer: { g0: number; g1: number }): CostModel {
  return {
    evaluate: (plan) => {
      const k0 = 8 - removed(plan, 'g0');
      const k1 = 16 - removed(plan, 'g1');
      return { params: k0 + k1, flops: flopsPer.g0 * k0 + flopsPer.g1 * k1, bytes: 0, layers: [] };
    },
  };
}

/** The oracle: fixed ms plus ms per kept channel, linear (what a device that moves activations looks like). */
function latencyOf(fixedMs: number, msPer: { g0: number; g1: number }): LatencyModel {
  const predict = (plan: PruningPlan) =>
    fixedMs + msPer.g0 * (8 - removed(plan, 'g0')) + msPer.g1 * (16 - removed(plan, 'g1'));
  return {
    baselineMs: predict({ version: 1, remove: {} }),
    scale: 1,
    predict,
    groupCurve: () => undefined,
    groups: ['g0', 'g1'],
  };
}

describe('timePerFlopFactors', () => {
  it("is each group's ms saved per FLOP saved over the median of the groups", () => {
    const f = timePerFlopFactors(graph, costsOf({ g0: 10, g1: 10 }), latencyOf(2, { g0: 1, g1: 0.2 }));
    // ms per FLOP: g0 1/10, g1 0.2/10; median of two = their mean 0.06.
    expect(f['g0']).toBeCloseTo(0.1 / 0.06, 12);
    expect(f['g1']).toBeCloseTo(0.02 / 0.06, 12);
  });

  it('leaves out groups whose half saves no FLOPs or no time', () => {
    const f = timePerFlopFactors(graph, costsOf({ g0: 10, g1: 0 }), latencyOf(2, { g0: 0, g1: 0.2 }));
    expect(f).toEqual({});
  });
});

describe('weightScores', () => {
  it('divides a weighted group by factor^strength and leaves the others as they are', () => {
    const scores = {
      g0: Float32Array.from([1, 2]),
      g1: Float32Array.from([3]),
      other: Float32Array.from([5]),
    };
    const w = weightScores(scores, { g0: 4, g1: 0.25 }, 0.5);
    expect([...w['g0']!]).toEqual([0.5, 1]);
    expect([...w['g1']!]).toEqual([6]);
    expect(w['other']).toBe(scores.other);
    expect(weightScores(scores, { g0: 4 }, 0)['g0']).toBe(scores.g0);
  });
});

describe('planGlobalForSpeed', () => {
  // Equal FLOPs per channel, but g0's channels cost 5x the time (its activations are large).
  const costs = costsOf({ g0: 10, g1: 10 });
  const latency = latencyOf(2, { g0: 1, g1: 0.2 });
  // g0 scores a little higher than g1: the plain ranking cuts g1 first.
  const scores = {
    g0: Float32Array.from({ length: 8 }, (_, i) => 1.8 + i / 8),
    g1: Float32Array.from({ length: 16 }, (_, i) => 1 + i / 16),
  };
  const target = { kind: 'flops' as const, fraction: 0.5 };
  const oracleSpeedup = (plan: PruningPlan) => latency.baselineMs / latency.predict(plan);

  it('weights the ranking just enough that the plan runs 0.95 of its FLOPs ratio faster, and meets the target', () => {
    const plain = planGlobal(graph, scores, costs, target, { align: 1 });
    const flopsRatio = (p: PruningPlan) => 240 / costs.evaluate(p).flops;
    // The plain plan cuts 12 of g1: FLOPs halved, but 13.2 -> 10.8 ms: 1.22x, 0.61 of the ratio.
    expect(plain.plan.remove).toEqual({ g1: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] });
    // Any importance cost allowed here (the cap is the next test's).
    const r = planGlobalForSpeed(graph, scores, costs, latency, target, {
      align: 1,
      maxImportanceRatio: Infinity,
    });
    expect(r.met).toBe(true);
    expect(costs.evaluate(r.plan).flops).toBeLessThanOrEqual(120);
    expect(r.realized).toBe(true);
    expect(r.predictedSpeedup).toBeCloseTo(oracleSpeedup(r.plan), 12);
    expect(r.predictedSpeedup).toBeGreaterThanOrEqual(0.95 * flopsRatio(r.plan));
    expect(r.flopsRatio).toBeCloseTo(flopsRatio(r.plan), 12);
    expect(r.plain.predictedSpeedup).toBeCloseTo(oracleSpeedup(plain.plan), 12);
    expect(removed(r.plan, 'g0')).toBeGreaterThan(0);
    expect(validatePlan(graph, r.plan)).toEqual([]);
    // The smallest strength that does it: the one before it does not.
    const at = SPEED_STRENGTHS.indexOf(r.strength);
    expect(at).toBeGreaterThan(0);
    const factors = timePerFlopFactors(graph, costs, latency);
    const before = planGlobal(graph, weightScores(scores, factors, SPEED_STRENGTHS[at - 1]!), costs, target, {
      align: 1,
    });
    expect(oracleSpeedup(before.plan)).toBeLessThan(0.95 * flopsRatio(before.plan));
    // What it costs in importance, by hand.
    const sum = (p: PruningPlan) =>
      Object.entries(p.remove).reduce(
        (n, [g, idx]) => n + idx.reduce((m, i) => m + scores[g as 'g0'][i]!, 0),
        0,
      );
    expect(r.importanceRatio).toBeCloseTo(sum(r.plan) / sum(plain.plan), 5);
    expect(r.importanceRatio).toBeGreaterThan(1);
    expect(r.plan.note).toMatch(/ranked for speed here \(strength [\d.]+\)$/);
  });

  it('is the plain ranking when that already realizes enough, when realize is 0, and without calibrated groups', () => {
    const even = latencyOf(2, { g0: 0.5, g1: 0.5 });
    const plain = planGlobal(graph, scores, costs, target, { align: 1 });
    for (const r of [
      planGlobalForSpeed(graph, scores, costs, latencyOf(0, { g0: 0.5, g1: 0.5 }), target, { align: 1 }),
      planGlobalForSpeed(graph, scores, costs, latency, target, { align: 1, realize: 0 }),
      planGlobalForSpeed(graph, scores, costs, { ...even, groups: [] }, target, { align: 1 }),
    ]) {
      expect(r.strength).toBe(0);
      expect(r.plan.remove).toEqual(plain.plan.remove);
      expect(r.importanceRatio).toBe(1);
    }
  });

  it('falls back to the plain ranking when no strength gets there (time that is per-layer overhead)', () => {
    const overhead = latencyOf(100, { g0: 1, g1: 0.2 });
    const r = planGlobalForSpeed(graph, scores, costs, overhead, target, { align: 1 });
    expect(r.realized).toBe(false);
    expect(r.shortBy).toBe('overhead');
    expect(r.strength).toBe(0);
    expect(r.plan.remove).toEqual(planGlobal(graph, scores, costs, target, { align: 1 }).plan.remove);
  });

  it('keeps the plain ranking when the weighting that realizes costs more importance than allowed', () => {
    const weighted = planGlobalForSpeed(graph, scores, costs, latency, target, {
      align: 1,
      maxImportanceRatio: Infinity,
    });
    expect(weighted.strength).toBeGreaterThan(0);
    expect(weighted.importanceRatio).toBeGreaterThan(1);
    // With the default cap (1.25): kept only when that weighting costs no more.
    const byDefault = planGlobalForSpeed(graph, scores, costs, latency, target, { align: 1 });
    expect(byDefault.strength > 0).toBe(weighted.importanceRatio <= 1.25);
    expect(weighted.shortBy).toBeUndefined();
    // The same, allowed a little less importance than that weighting removes.
    const capped = planGlobalForSpeed(graph, scores, costs, latency, target, {
      align: 1,
      maxImportanceRatio: weighted.importanceRatio - 0.01,
    });
    expect(capped.strength).toBe(0);
    expect(capped.realized).toBe(false);
    expect(capped.shortBy).toBe('importance');
    expect(capped.importanceRatio).toBe(1);
    expect(capped.plan.remove).toEqual(planGlobal(graph, scores, costs, target, { align: 1 }).plan.remove);
  });

  it('property: meets the target like planGlobal; when realized, the oracle agrees; strength 0 is the plain plan', () => {
    fc.assert(
      fc.property(
        fc.float({ min: Math.fround(0.01), max: 5, noNaN: true }),
        fc.float({ min: Math.fround(0.01), max: 5, noNaN: true }),
        fc.float({ min: 0, max: 20, noNaN: true }),
        fc.array(fc.float({ min: 0, max: 10, noNaN: true }), { minLength: 24, maxLength: 24 }),
        fc.double({ min: 0.1, max: 0.8, noNaN: true }),
        (m0, m1, fixed, s, fraction) => {
          const lat = latencyOf(fixed, { g0: m0, g1: m1 });
          const sc = { g0: Float32Array.from(s.slice(0, 8)), g1: Float32Array.from(s.slice(8)) };
          const t = { kind: 'flops' as const, fraction };
          const r = planGlobalForSpeed(graph, sc, costs, lat, t, { maxRatio: 0.9 });
          const plain = planGlobal(graph, sc, costs, t, { maxRatio: 0.9 });
          expect(r.met).toBe(plain.met);
          if (r.met) expect(costs.evaluate(r.plan).flops).toBeLessThanOrEqual(240 * (1 - fraction) + 1e-9);
          expect(validatePlan(graph, r.plan)).toEqual([]);
          expect(r.predictedSpeedup).toBeCloseTo(lat.baselineMs / lat.predict(r.plan), 9);
          if (r.realized) expect(r.predictedSpeedup).toBeGreaterThanOrEqual(0.95 * r.flopsRatio - 1e-9);
          if (r.strength === 0) expect(r.plan.remove).toEqual(plain.plan.remove);
          expect(r.importanceRatio).toBeLessThanOrEqual(1.25 + 1e-9);
          expect(r.shortBy === undefined).toBe(r.realized);
          expect(r.importanceRatio * importanceRemoved(sc, plain.plan)).toBeCloseTo(
            importanceRemoved(sc, r.plan),
            3,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
