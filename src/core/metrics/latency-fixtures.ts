/** Synthetic latency tables for the latency model's and planner's tests (no timing, no tfjs). */
import type { ChannelGraph } from '../graph/types';
import type { LatencyCalibration, LatencyPoint } from './latency-model';

/** Two groups: g0 (8 channels) and g1 (16), named by their producers. */
export function twoGroupGraph(): ChannelGraph {
  return {
    groups: [
      {
        id: 0,
        producer: 'g0',
        producers: ['g0'],
        size: 8,
        members: [{ layer: 'g0', role: 'producer' }],
        prunable: true,
      },
      {
        id: 1,
        producer: 'g1',
        producers: ['g1'],
        size: 16,
        members: [{ layer: 'g1', role: 'producer' }],
        prunable: true,
      },
    ],
    groupByProducer: { g0: 0, g1: 1 },
    groupsByLayer: {},
  };
}

/**
 * L0 reads nothing pruned and writes g0: 0.5 ms per channel. L1 reads g0 and writes g1: 8 ms at full
 * size, bilinear. L2 is channel-wise on g1 with a bump at 8 kept (5 ms, slower than full size).
 */
export function syntheticCalibration(layerSumMs = 20): LatencyCalibration {
  const pts = (ks: number[], f: (k: number) => number): LatencyPoint[] =>
    ks.map((k) => ({ kept: k, ms: f(k) }));
  return {
    version: 1,
    fingerprint: 'f',
    backend: 'test',
    batch: 1,
    baselineMs: 20,
    baselineSpreadMs: [19, 21],
    layerSumMs,
    warmup: 1,
    repeats: 5,
    groups: [
      { producer: 'g0', size: 8, counts: [2, 4, 6, 8] },
      { producer: 'g1', size: 16, counts: [4, 8, 12, 16] },
    ],
    layers: [
      {
        name: 'L0',
        className: 'Conv2D',
        ms: 4,
        effects: [{ group: 'g0', axis: 'out', points: pts([2, 4, 6, 8], (k) => 0.5 * k) }],
      },
      {
        name: 'L1',
        className: 'Conv2D',
        ms: 8,
        effects: [
          { group: 'g0', axis: 'in', points: pts([2, 4, 6, 8], (k) => k) },
          { group: 'g1', axis: 'out', points: pts([4, 8, 12, 16], (k) => k / 2) },
        ],
      },
      {
        name: 'L2',
        className: 'BatchNormalization',
        ms: 4,
        effects: [
          {
            group: 'g1',
            axis: 'both',
            points: [
              { kept: 4, ms: 1 },
              { kept: 8, ms: 5 },
              { kept: 12, ms: 2.5 },
              { kept: 16, ms: 4 },
            ],
          },
        ],
      },
    ],
    skipped: [],
    seconds: 1,
  };
}
