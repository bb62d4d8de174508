import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChannelGraph } from '../graph/types';
import type { CostModel } from '../metrics/costs';
import { makeLatencyModel, type LatencyCalibration } from '../metrics/latency-model';
import { syntheticCalibration, twoGroupGraph } from '../metrics/latency-fixtures';
import { removalCount } from './auto';
import { envelopeRemovals, planLatency, targetMs } from './latency-plan';
import { validatePlan } from './validate';

const costs: CostModel = {
  evaluate: (plan) => {
    const n = Object.values(plan.remove).reduce((s, l) => s + l.length, 0);
    return { params: 100 - n, flops: 200 - 2 * n, bytes: 4 * (100 - n), layers: [] };
  },
};

const ascending = (n: number) => Float32Array.from({ length: n }, (_, i) => i / n);

describe('planLatency on a synthetic latency table', () => {
  const graph = twoGroupGraph();
  const model = makeLatencyModel(syntheticCalibration(), graph);
  const scores = { g0: ascending(8), g1: ascending(16) };

  it('reaches a speed-up target with the least prefix of the ranking and states its prediction', () => {
    const r = planLatency(graph, scores, model, costs, { kind: 'speedup', factor: 1.5 });
    expect(r.targetMs).toBeCloseTo(20 / 1.5, 12);
    expect(r.met).toBe(true);
    expect(r.predictedMs).toBeLessThanOrEqual(r.targetMs);
    expect(r.predictedMs).toBe(model.predict(r.plan));
    expect(r.predictedSpeedup).toBeCloseTo(20 / r.predictedMs, 12);
    // The ranking: g0 to 6 kept (17 ms), g1 to 12 (14 ms), g0 to 4 (11.5 ms <= 13.33): stop there.
    expect(r.plan.remove).toEqual({ g0: [0, 1, 2, 3], g1: [0, 1, 2, 3] });
    expect(r.predictedMs).toBeCloseTo(11.5, 12);
    expect(validatePlan(graph, r.plan)).toEqual([]);
    expect(r.plan.note).toMatch(/^latency: 1\.5x faster \(predicted [\d.]+ ms of 20\.00 ms\)/);
  });

  it('meets a target in ms, and stops short (met false) of an unreachable one without emptying a group', () => {
    const r = planLatency(graph, scores, model, costs, { kind: 'latency', ms: 15 });
    expect(r.targetMs).toBe(15);
    expect(r.predictedMs).toBeCloseTo(14, 12);
    const far = planLatency(graph, scores, model, costs, { kind: 'latency', ms: 0.1 });
    expect(far.met).toBe(false);
    expect(far.plan.remove['g0']!.length).toBeLessThan(8);
    expect(far.plan.remove['g1']!.length).toBeLessThan(16);
    expect(far.predictedMs).toBe(model.predict(far.plan));
  });

  it('never stops a group at a count off the envelope (the bump at 8 kept)', () => {
    expect(envelopeRemovals(graph.groups[1]!, model)).toEqual([4, 12]); // kept 12 and 4, never 8
    for (const ms of [19, 17, 15, 13, 11, 9, 7]) {
      const r = planLatency(graph, scores, model, costs, { kind: 'latency', ms });
      expect(16 - (r.plan.remove['g1']?.length ?? 0)).not.toBe(8);
    }
  });

  it('respects ignore and maxRatio', () => {
    const ignored = planLatency(
      graph,
      scores,
      model,
      costs,
      { kind: 'speedup', factor: 3 },
      { ignore: ['g0'] },
    );
    expect(ignored.plan.remove['g0']).toBeUndefined();
    expect(ignored.plan.remove['g1']!.length).toBe(12);
    const capped = planLatency(
      graph,
      scores,
      model,
      costs,
      { kind: 'speedup', factor: 3 },
      { maxRatio: 0.5 },
    );
    expect(capped.plan.remove['g0']!.length).toBeLessThanOrEqual(4);
    // g1 may only lose 4 (12 kept): 8 kept is off the envelope, 4 kept over the cap.
    expect(capped.plan.remove['g1']!.length).toBe(4);
    expect(capped.met).toBe(false);
  });

  it('removes the lowest-scored channels of each group', () => {
    const reversed = { g0: Float32Array.from({ length: 8 }, (_, i) => 8 - i), g1: ascending(16) };
    const r = planLatency(graph, reversed, model, costs, { kind: 'latency', ms: 15 }, { ignore: ['g1'] });
    expect(r.plan.remove['g0']).toEqual([4, 5, 6, 7]);
  });

  it('converts a speed-up to ms', () => {
    expect(targetMs({ kind: 'speedup', factor: 2 }, 30)).toBe(15);
    expect(targetMs({ kind: 'latency', ms: 12 }, 30)).toBe(12);
  });
});

/** A chain of groups with random per-layer latency points (noisy, bumps included). */
const chainArb = fc
  .array(
    fc.record({ size: fc.integer({ min: 2, max: 12 }), w: fc.double({ min: 0.1, max: 5, noNaN: true }) }),
    {
      minLength: 1,
      maxLength: 5,
    },
  )
  .chain((groups) =>
    fc.record({
      groups: fc.constant(groups),
      noise: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 60, maxLength: 60 }),
      factor: fc.double({ min: 1, max: 4, noNaN: true }),
      maxRatio: fc.option(fc.double({ min: 0.1, max: 1, noNaN: true }), { nil: undefined }),
      ignoreFirst: fc.boolean(),
      seed: fc.integer({ min: 0, max: 1000 }),
    }),
  );

describe('planLatency properties', () => {
  it('never empties a group, respects the cap and ignore, keeps envelope counts, and states predict(plan)', () => {
    fc.assert(
      fc.property(chainArb, (c) => {
        const graph: ChannelGraph = {
          groups: c.groups.map((g, id) => ({
            id,
            producer: `g${id}`,
            producers: [`g${id}`],
            size: g.size,
            members: [{ layer: `g${id}`, role: 'producer' as const }],
            prunable: true,
          })),
          groupByProducer: Object.fromEntries(c.groups.map((_, id) => [`g${id}`, id])),
          groupsByLayer: {},
        };
        let n = 0;
        const cal: LatencyCalibration = {
          ...syntheticCalibration(),
          baselineMs: 10 + c.groups.reduce((s, g) => s + g.w, 0),
          layerSumMs: 0,
          groups: c.groups.map((g, id) => ({
            producer: `g${id}`,
            size: g.size,
            counts: Array.from({ length: g.size }, (_, i) => i + 1),
          })),
          layers: c.groups.map((g, id) => ({
            name: `L${id}`,
            className: 'Conv2D',
            ms: g.w,
            effects: [
              {
                group: `g${id}`,
                axis: 'both' as const,
                points: Array.from({ length: g.size }, (_, i) => ({
                  kept: i + 1,
                  ms: i + 1 === g.size ? g.w : (g.w * (i + 1 + c.noise[n++ % 60]! * 2)) / g.size,
                })),
              },
            ],
          })),
        };
        const model = makeLatencyModel(cal, graph);
        const scores = Object.fromEntries(
          c.groups.map((g, id) => [
            `g${id}`,
            Float32Array.from({ length: g.size }, (_, i) => ((i * 7 + c.seed) % 11) / 11),
          ]),
        );
        const options = {
          ...(c.maxRatio !== undefined ? { maxRatio: c.maxRatio } : {}),
          ...(c.ignoreFirst ? { ignore: ['g0'] } : {}),
        };
        const r = planLatency(graph, scores, model, costs, { kind: 'speedup', factor: c.factor }, options);
        expect(r.predictedMs).toBe(model.predict(r.plan));
        if (r.met) expect(r.predictedMs).toBeLessThanOrEqual(r.targetMs + 1e-9);
        if (c.ignoreFirst) expect(r.plan.remove['g0']).toBeUndefined();
        for (const [name, list] of Object.entries(r.plan.remove)) {
          const g = graph.groups[graph.groupByProducer[name]!]!;
          expect(list.length).toBeGreaterThan(0);
          expect(list.length).toBeLessThan(g.size);
          expect(list.length).toBeLessThanOrEqual(removalCount(g.size, 1, options));
          expect(envelopeRemovals(g, model, options)).toContain(list.length);
        }
      }),
      { numRuns: 200 },
    );
  });
});
