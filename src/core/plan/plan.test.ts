import { describe, expect, it } from 'vitest';
import type { ChannelGraph } from '../graph/types';
import { normalizePlan, validatePlan } from './validate';
import { planLowestFraction, selectLowest } from './auto';

const graph: ChannelGraph = {
  groups: [
    { id: 0, producer: 'conv1', size: 4, members: [], prunable: true },
    { id: 1, producer: 'conv2', size: 6, members: [], prunable: true },
    {
      id: 2,
      producer: 'logits',
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
