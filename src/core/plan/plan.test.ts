import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChannelGraph } from '../graph/types';
import { canonicalizePlan, normalizePlan, validatePlan } from './validate';
import { planLowestFraction, removalCount, selectLowest } from './auto';

const graph: ChannelGraph = {
  groups: [
    { id: 0, producer: 'conv1', producers: ['conv1'], size: 4, members: [], prunable: true },
    { id: 1, producer: 'conv2', producers: ['conv2'], size: 6, members: [], prunable: true },
    {
      id: 2,
      producer: 'logits',
      producers: ['logits'],
      size: 10,
      members: [],
      prunable: false,
      reason: "Dense 'logits' produces the model's output (10 values), so none can be removed.",
    },
  ],
  groupByProducer: { conv1: 0, conv2: 1, logits: 2 },
  groupsByLayer: {},
  layerClasses: { conv1: 'Conv2D', bn1: 'BatchNormalization', conv2: 'Conv2D', logits: 'Dense' },
};

describe('validatePlan', () => {
  it('accepts a good plan (and empty lists)', () => {
    expect(validatePlan(graph, { version: 1, remove: { conv1: [0, 3], conv2: [], logits: [] } })).toEqual([]);
  });

  it('lists every problem in words', () => {
    expect(
      validatePlan(graph, {
        version: 1,
        remove: { nope: [0], bn1: [0], logits: [1], conv1: [0, 1, 2, 3], conv2: [6, -1, 1.5, 2, 2] },
      }),
    ).toEqual([
      "The plan names layer 'nope', which is not in the model.",
      "'bn1' is a BatchNormalization, which owns no channels to remove (only Conv/Dense-like layers do).",
      "'logits' cannot be pruned: Dense 'logits' produces the model's output (10 values), so none can be removed.",
      "The plan removes all 4 channels of 'conv1'; keep at least one.",
      "'conv2' has 6 channels (0..5), but the plan removes 6, -1, 1.5.",
      "The plan removes channel(s) 2 of 'conv2' twice.",
    ]);
    expect(validatePlan(graph, { version: 2, remove: {} } as never)).toEqual([
      'The plan has version 2; expected 1.',
    ]);
  });

  it('normalizePlan sorts, dedupes and drops empty lists', () => {
    expect(normalizePlan({ version: 1, remove: { a: [5, 1, 5], b: [] }, note: 'x' })).toEqual({
      version: 1,
      remove: { a: [1, 5] },
      note: 'x',
    });
  });
});

describe('automatic planners', () => {
  it('selectLowest: floor(fraction*n) lowest, ties to lower index, NaN lowest, never all', () => {
    expect(selectLowest(Float32Array.of(0.5, 0.1, 0.9, 0.3), 0.5)).toEqual([1, 3]);
    expect(selectLowest(Float32Array.of(1, 1, 1, 1), 0.5)).toEqual([0, 1]);
    expect(selectLowest(Float32Array.of(1, NaN, 0), 0.34)).toEqual([1]);
    expect(selectLowest(Float32Array.of(3, 2, 1), 1)).toEqual([1, 2]);
    expect(selectLowest(Float32Array.of(3, 2, 1), 0.3)).toEqual([]);
    expect(selectLowest(Float32Array.of(5), 0.9)).toEqual([]);
    expect(selectLowest(new Float32Array(10), 0.7)).toHaveLength(7);
  });

  it('selectLowest equals sorting by (score, index) and taking the first ones (ties, ±0, ±Inf, NaN)', () => {
    const reference = (scores: Float32Array, count: number) => {
      const key = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]!);
      const order = Array.from(scores, (_, i) => i).sort((a, b) => key(a) - key(b) || a - b);
      return order.slice(0, count).sort((a, b) => a - b);
    };
    const value = fc.constantFrom(0, -0, 1, -1, 2.5, NaN, Infinity, -Infinity, 1e-40, 3, 3, 3);
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (list, f) => {
          const scores = Float32Array.from(list);
          expect(selectLowest(scores, f)).toEqual(reference(scores, removalCount(scores.length, f)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('planLowestFraction covers prunable groups (or the ones named)', () => {
    const scores = {
      conv1: Float32Array.of(4, 3, 2, 1),
      conv2: Float32Array.of(1, 2, 3, 4, 5, 6),
      logits: new Float32Array(10),
    };
    expect(planLowestFraction(graph, scores, 0.5).remove).toEqual({ conv1: [2, 3], conv2: [0, 1, 2] });
    expect(planLowestFraction(graph, scores, 0.5, ['conv2']).remove).toEqual({ conv2: [0, 1, 2] });
    expect(() => planLowestFraction(graph, { conv1: scores.conv1 }, 0.5)).toThrow("No scores for 'conv2'.");
  });
});

describe('coupled groups and planner options', () => {
  // A residual group {a, b} (a first), its consumer c, and a group d with a BN member.
  const coupled: ChannelGraph = {
    groups: [
      {
        id: 0,
        producer: 'a',
        producers: ['a', 'b'],
        size: 16,
        members: [
          { layer: 'a', role: 'producer' },
          { layer: 'b', role: 'producer' },
          { layer: 'add', role: 'channelwise' },
          { layer: 'c', role: 'consumer' },
        ],
        prunable: true,
      },
      {
        id: 1,
        producer: 'c',
        producers: ['c'],
        size: 10,
        members: [
          { layer: 'c', role: 'producer' },
          { layer: 'base/bn', role: 'channelwise' },
        ],
        prunable: true,
      },
    ],
    groupByProducer: { a: 0, b: 0, c: 1 },
    groupsByLayer: {},
  };

  it('validatePlan accepts any producer of a group, and the same channels named twice; rejects different ones', () => {
    expect(validatePlan(coupled, { version: 1, remove: { b: [1, 2] } })).toEqual([]);
    expect(validatePlan(coupled, { version: 1, remove: { a: [2, 1], b: [1, 2] } })).toEqual([]);
    expect(validatePlan(coupled, { version: 1, remove: { a: [1, 2], b: [1] } })).toEqual([
      "The plan removes channels [1, 2] by 'a' but [1] by 'b', which are producers of one group of coupled channels (removed together); name the group once, by 'a'.",
    ]);
  });

  it('canonicalizePlan names each group by its first producer', () => {
    expect(canonicalizePlan(coupled, { version: 1, remove: { b: [3, 1, 3], c: [] }, note: 'n' })).toEqual({
      version: 1,
      remove: { a: [1, 3] },
      note: 'n',
    });
  });

  it('removalCount: floor, never all, maxRatio, and the kept count rounded up to a multiple', () => {
    expect(removalCount(32, 0.3)).toBe(9);
    expect(removalCount(32, 0.3, { roundTo: 8 })).toBe(8);
    expect(removalCount(12, 0.3, { roundTo: 8 })).toBe(0); // keeps 9 -> 16 > 12: nothing
    expect(removalCount(8, 0.9, { roundTo: 8 })).toBe(0);
    expect(removalCount(100, 0.5, { maxRatio: 0.2 })).toBe(20);
    expect(removalCount(100, 0.5, { maxRatio: 0.2, roundTo: 16 })).toBe(20); // keeps 80 = 5 x 16
    expect(removalCount(100, 0.5, { maxRatio: 0.3, roundTo: 16 })).toBe(20); // keeps 70 -> 80
  });

  it('planLowestFraction: roundTo, maxRatio, ignore (also by nested scope) and layers by any producer name', () => {
    const scores = {
      a: Float32Array.from({ length: 16 }, (_, i) => 16 - i),
      c: Float32Array.from({ length: 10 }, (_, i) => i),
    };
    expect(planLowestFraction(coupled, scores, 0.5).remove).toEqual({
      a: [8, 9, 10, 11, 12, 13, 14, 15],
      c: [0, 1, 2, 3, 4],
    });
    // a: 16 -> keeps 8; c: 10 -> keeps 5, rounded up to 8.
    expect(planLowestFraction(coupled, scores, 0.5, { roundTo: 8 }).remove).toEqual({
      a: [8, 9, 10, 11, 12, 13, 14, 15],
      c: [0, 1],
    });
    expect(planLowestFraction(coupled, scores, 0.5, { maxRatio: 0.25 }).remove).toEqual({
      a: [12, 13, 14, 15],
      c: [0, 1],
    });
    expect(Object.keys(planLowestFraction(coupled, scores, 0.5, { ignore: ['b'] }).remove)).toEqual(['c']);
    expect(Object.keys(planLowestFraction(coupled, scores, 0.5, { ignore: ['base/'] }).remove)).toEqual([
      'a',
    ]);
    // A consumer named in `ignore` still loses input channels (Torch-Pruning's ignored_layers).
    expect(Object.keys(planLowestFraction(coupled, scores, 0.5, { ignore: ['c'] }).remove)).toEqual(['a']);
    expect(Object.keys(planLowestFraction(coupled, scores, 0.5, { layers: ['b'] }).remove)).toEqual(['a']);
    expect(planLowestFraction(coupled, scores, 0.5, { roundTo: 8, maxRatio: 0.5 }).note).toBe(
      'lowest 50% per layer (kept rounded to 8, at most 50% per group)',
    );
  });
});
