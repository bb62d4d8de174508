import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChannelGraph } from '../graph/types';
import type { CostModel, CostTotals } from '../metrics/costs';
import { artifactsFromLayersModel } from '../io/tf-artifacts';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { computeCosts, makeCostModel } from '../metrics/costs';
import { applyPlan } from '../surgery/apply-plan';
import { randomizeWeights } from '../testing/random-cnn';
import { mobilenetV2Style } from '../testing/zoo';
import { normalizeScores, scoreGroups } from '../scoring';
import { planGlobal, type GlobalTarget } from './global';
import { removalCount } from './auto';
import { validatePlan } from './validate';
import type { PruningPlan } from './plan';

interface Case {
  sizes: number[];
  prunable: boolean[];
  scores: number[][];
  /** Per group: params per kept channel, and a bilinear term with the next group. */
  a: number[];
  b: number[];
  target: GlobalTarget;
  maxRatio: number | undefined;
  roundTo: number | undefined;
  ignoreFirst: boolean;
}

const caseArb: fc.Arbitrary<Case> = fc
  .array(
    fc.record({
      size: fc.integer({ min: 1, max: 12 }),
      prunable: fc.constantFrom(true, true, true, false),
      a: fc.integer({ min: 0, max: 20 }),
      b: fc.integer({ min: 0, max: 5 }),
      seed: fc.integer({ min: 0, max: 1000 }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .chain((groups) =>
    fc.record({
      sizes: fc.constant(groups.map((g) => g.size)),
      prunable: fc.constant(groups.map((g) => g.prunable)),
      // small integer scores: many ties, across and within groups
      scores: fc.tuple(
        ...groups.map((g) =>
          fc.array(fc.integer({ min: 0, max: 5 }), { minLength: g.size, maxLength: g.size }),
        ),
      ),
      a: fc.constant(groups.map((g) => g.a)),
      b: fc.constant(groups.map((g) => g.b)),
      target: fc.record({
        kind: fc.constantFrom<GlobalTarget['kind']>('params', 'flops', 'channels'),
        fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      maxRatio: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      roundTo: fc.option(fc.integer({ min: 2, max: 4 }), { nil: undefined }),
      ignoreFirst: fc.boolean(),
    }),
  );

function graphOf(c: Case): ChannelGraph {
  return {
    groups: c.sizes.map((size, id) => ({
      id,
      producer: `g${id}`,
      producers: [`g${id}`],
      size,
      members: [{ layer: `g${id}`, role: 'producer' as const }],
      prunable: c.prunable[id]!,
    })),
    groupByProducer: Object.fromEntries(c.sizes.map((_, id) => [`g${id}`, id])),
    groupsByLayer: {},
  };
}

/** A bilinear stand-in for the cost model: params = 7 + sum a_g k_g + b_g k_g k_(g+1); FLOPs with the roles of a and b swapped. */
function costsOf(c: Case): CostModel {
  return {
    evaluate(plan: PruningPlan): CostTotals {
      const kept = c.sizes.map((size, id) => size - new Set(plan.remove[`g${id}`] ?? []).size);
      let params = 7;
      let flops = 3;
      kept.forEach((k, g) => {
        const next = kept[g + 1] ?? 1;
        params += c.a[g]! * k + c.b[g]! * k * next;
        flops += c.b[g]! * k + c.a[g]! * k * next;
      });
      return { params, flops, bytes: 4 * params, layers: [] };
    },
  };
}

const removedShare = (c: Case, plan: PruningPlan, kind: GlobalTarget['kind'], eligible: number): number => {
  if (kind === 'channels') {
    const n = Object.values(plan.remove).reduce((s, l) => s + l.length, 0);
    return eligible > 0 ? n / eligible : 0;
  }
  const base = costsOf(c).evaluate({ version: 1, remove: {} })[kind];
  const now = costsOf(c).evaluate(plan)[kind];
  return base > 0 ? (base - now) / base : 0;
};

describe('planGlobal properties', () => {
  it('reaches the target within one step, never empties a group, respects maxRatio/roundTo/ignore, and grows with the target', () => {
    fc.assert(
      fc.property(caseArb, fc.double({ min: 0, max: 1, noNaN: true }), (c, other) => {
        const graph = graphOf(c);
        const scores = Object.fromEntries(c.scores.map((s, id) => [`g${id}`, Float32Array.from(s)]));
        // The plain ranking (align 1): exact minimality and monotonicity hold for it.
        const options = {
          align: 1,
          ...(c.maxRatio !== undefined ? { maxRatio: c.maxRatio } : {}),
          ...(c.roundTo !== undefined ? { roundTo: c.roundTo } : {}),
          ...(c.ignoreFirst ? { ignore: ['g0'] } : {}),
        };
        const r = planGlobal(graph, scores, costsOf(c), c.target, options);
        expect(validatePlan(graph, r.plan)).toEqual([]);
        const eligible = graph.groups.filter((g) => g.prunable && !(c.ignoreFirst && g.id === 0));
        const eligibleChannels = eligible.reduce((n, g) => n + g.size, 0);
        for (const [name, list] of Object.entries(r.plan.remove)) {
          const g = graph.groups[graph.groupByProducer[name]!]!;
          expect(eligible).toContain(g);
          expect(list.length).toBeLessThan(g.size);
          expect(list.length).toBeLessThanOrEqual(removalCount(g.size, 1, options));
          if (c.roundTo !== undefined) expect((g.size - list.length) % c.roundTo).toBe(0);
          // the removed channels are the group's lowest-scored ones
          const s = c.scores[g.id]!;
          const maxRemoved = Math.max(...list.map((i) => s[i]!));
          const minKept = Math.min(...s.filter((_, i) => !list.includes(i)));
          expect(maxRemoved).toBeLessThanOrEqual(minKept);
        }
        const share = removedShare(c, r.plan, c.target.kind, eligibleChannels);
        expect(r.removed[c.target.kind]).toBeCloseTo(share, 9);
        const goal = c.target.fraction;
        if (r.met) {
          expect(share).toBeGreaterThanOrEqual(goal - 1e-9);
          // Minimal: giving back the last-ranked removal unit of any group that has one falls below the goal.
          const lastGroups = Object.entries(r.plan.remove);
          if (goal > 0 && lastGroups.length > 0) {
            const [name, list] = lastGroups
              .map(([n, l]) => [n, l] as const)
              .sort(([na, la], [nb, lb]) => {
                const top = (n: string, l: readonly number[]) => Math.max(...l.map((i) => scores[n]![i]!));
                return top(nb, lb) - top(na, la) || graph.groupByProducer[nb]! - graph.groupByProducer[na]!;
              })[0]!;
            const size = graph.groups[graph.groupByProducer[name]!]!.size;
            const n = c.roundTo ?? 1;
            let back = list.length - 1;
            while (back > 0 && (size - back) % n !== 0) back--;
            const order = [...list].sort((x, y) => scores[name]![x]! - scores[name]![y]! || x - y);
            const smaller = { ...r.plan.remove, [name]: order.slice(0, back) };
            expect(
              removedShare(c, { version: 1, remove: smaller }, c.target.kind, eligibleChannels),
            ).toBeLessThan(goal - 1e-12);
          }
        } else {
          // Not met: every eligible group is at its cap.
          for (const g of eligible) {
            expect(r.plan.remove[g.producer]?.length ?? 0).toBe(removalCount(g.size, 1, options));
          }
        }
        // Monotone: a larger target removes a superset.
        const [lo, hi] = goal <= other ? [goal, other] : [other, goal];
        const small = planGlobal(graph, scores, costsOf(c), { ...c.target, fraction: lo }, options).plan;
        const big = planGlobal(graph, scores, costsOf(c), { ...c.target, fraction: hi }, options).plan;
        for (const [name, list] of Object.entries(small.remove)) {
          const bigger = new Set(big.remove[name] ?? []);
          for (const i of list) expect(bigger.has(i)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('planGlobal kept-count alignment', () => {
  it('meets every target the plain ranking meets, keeps the lowest-scored channels and the caps, and only moves counts to multiples', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.integer({ min: 2, max: 5 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        (c, align, alignBand) => {
          const graph = graphOf(c);
          const scores = Object.fromEntries(c.scores.map((s, id) => [`g${id}`, Float32Array.from(s)]));
          const limits = {
            ...(c.maxRatio !== undefined ? { maxRatio: c.maxRatio } : {}),
            ...(c.ignoreFirst ? { ignore: ['g0'] } : {}),
          };
          const plain = planGlobal(graph, scores, costsOf(c), c.target, { ...limits, align: 1 });
          const r = planGlobal(graph, scores, costsOf(c), c.target, { ...limits, align, alignBand });
          expect(validatePlan(graph, r.plan)).toEqual([]);
          expect(r.met).toBe(plain.met);
          if (r.met) expect(r.removed[c.target.kind]).toBeGreaterThanOrEqual(c.target.fraction - 1e-9);
          else expect(r.plan.remove).toEqual(plain.plan.remove);
          for (const [name, list] of Object.entries(r.plan.remove)) {
            const g = graph.groups[graph.groupByProducer[name]!]!;
            expect(list.length).toBeLessThan(g.size);
            expect(list.length).toBeLessThanOrEqual(removalCount(g.size, 1, limits));
            const s = c.scores[g.id]!;
            const maxRemoved = Math.max(...list.map((i) => s[i]!));
            const minKept = Math.min(...s.filter((_, i) => !list.includes(i)));
            expect(maxRemoved).toBeLessThanOrEqual(minKept);
          }
          // With no band, nothing moves: the plain plan.
          const none = planGlobal(graph, scores, costsOf(c), c.target, { ...limits, align, alignBand: 0 });
          if (none.met) expect(none.removed[c.target.kind]).toBeGreaterThanOrEqual(c.target.fraction - 1e-9);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('moves a cut group to the nearer multiple across nearly equal scores, and align 1 is the plain ranking', () => {
    // Two groups of 24 channels; g0's scores climb slowly (nearly equal), g1's are all high.
    const graph: ChannelGraph = {
      groups: [0, 1].map((id) => ({
        id,
        producer: `g${id}`,
        producers: [`g${id}`],
        size: 24,
        members: [{ layer: `g${id}`, role: 'producer' as const }],
        prunable: true,
      })),
      groupByProducer: { g0: 0, g1: 1 },
      groupsByLayer: {},
    };
    const scores = {
      g0: Float32Array.from({ length: 24 }, (_, i) => 1 + i * 0.001),
      g1: Float32Array.from({ length: 24 }, (_, i) => 10 + i),
    };
    const target: GlobalTarget = { kind: 'channels', fraction: 7 / 48 };
    const costs: CostModel = {
      evaluate: () => ({ params: 0, flops: 0, bytes: 0, layers: [] }),
    };
    const plain = planGlobal(graph, scores, costs, target, { align: 1 });
    expect(plain.plan.remove['g0']).toHaveLength(7); // kept 17
    const aligned = planGlobal(graph, scores, costs, target, { alignBand: 0.25 });
    expect(aligned.plan.remove['g0']).toHaveLength(8); // kept 16, a multiple of 8
    expect(aligned.removed.channels).toBeGreaterThanOrEqual(7 / 48);
    expect(aligned.plan.note).toMatch(/multiples of 8/);
    // Outside the band (0.5% of 46 steps is none), the count stays.
    expect(planGlobal(graph, scores, costs, target, { alignBand: 0.005 }).plan.remove['g0']).toHaveLength(7);
  });
});

describe('planGlobal on a real model', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    await tf.ready();
  });

  it('states before applying exactly the params and FLOPs the pruned model has', async () => {
    const built = mobilenetV2Style();
    const artifacts = randomizeWeights(await artifactsFromLayersModel(built), 4);
    built.dispose();
    const ir = buildModelIR(artifacts);
    const graph = buildChannelGraph(ir);
    const costs = makeCostModel(ir, graph);
    const scores = normalizeScores(scoreGroups(ir, artifacts, graph, 'l1'), 'lamp');
    for (const target of [
      { kind: 'flops', fraction: 0.3 },
      { kind: 'params', fraction: 0.45 },
      { kind: 'channels', fraction: 0.5 },
    ] as const) {
      const r = planGlobal(graph, scores, costs, target, { maxRatio: 0.75 });
      expect(r.met).toBe(true);
      expect(r.removed[target.kind]).toBeGreaterThanOrEqual(target.fraction);
      const pruned = computeCosts(buildModelIR(applyPlan(artifacts, r.plan, ir, graph).artifacts));
      expect([pruned.params, pruned.flops]).toEqual([r.reached.params, r.reached.flops]);
      expect(r.plan.note).toMatch(/^global: remove/);
    }
  });
});
