import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { handFunctional, handSequential, weight } from '../testing/hand-models';
import { mulberry32 } from '../testing/random-cnn';
import {
  CRITERIA,
  bnScaleFallbacks,
  fpgmScores,
  isDataBased,
  lampNormalize,
  meanNormalize,
  normalizeScores,
  randomScores,
  scoreGroups,
} from './index';

/** Plain-loop reference: slice j of `values` (row-major `shape`) along `axis`, found entry by entry. */
function slices(values: Float32Array, shape: number[], axis: number): number[][] {
  const size = shape[axis]!;
  const out: number[][] = Array.from({ length: size }, () => []);
  const strides = shape.map((_, a) => shape.slice(a + 1).reduce((p, d) => p * d, 1));
  for (let i = 0; i < values.length; i++) out[Math.floor(i / strides[axis]!) % size]!.push(values[i]!);
  return out;
}

function fpgmReference(values: Float32Array, shape: number[], axis: number): number[] {
  const s = slices(values, shape, axis);
  return s.map((a) =>
    s.reduce((sum, b) => sum + Math.sqrt(a.reduce((q, v, t) => q + (v - b[t]!) ** 2, 0)), 0),
  );
}

const arr = (r: Record<string, Float32Array>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));

describe('criteria list', () => {
  it('lists every criterion once, weight-based first, with dataBased flags', () => {
    expect(CRITERIA.map((c) => `${c.id}${c.dataBased ? '*' : ''}`)).toEqual([
      'l1',
      'l2',
      'fpgm',
      'bn-scale',
      'random',
      'apoz*',
      'mean-activation*',
      'taylor*',
    ]);
    expect(isDataBased('taylor')).toBe(true);
    expect(isDataBased('fpgm')).toBe(false);
  });
});

describe('FPGM', () => {
  it('by hand: one-weight filters [0, 1, 3] -> [4, 3, 5] (the median is the most redundant)', () => {
    expect(Array.from(fpgmScores({ shape: [1, 3], values: Float32Array.of(0, 1, 3) }, 1))).toEqual([4, 3, 5]);
  });

  it('matches a plain-loop reference on random tensors, on every axis', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.integer({ min: 1, max: 2 ** 30 }),
        (shape, axisSeed, seed) => {
          const axis = axisSeed % shape.length;
          const rand = mulberry32(seed);
          const n = shape.reduce((p, d) => p * d, 1);
          const values = Float32Array.from({ length: n }, () => rand() * 2 - 1);
          const got = Array.from(fpgmScores({ shape, values }, axis));
          const want = fpgmReference(values, shape, axis);
          got.forEach((g, j) => expect(g).toBeCloseTo(want[j]!, 4));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('random criterion', () => {
  it('is seeded, per group, and uniform in [0, 1)', () => {
    const a = randomScores(100, 'conv1', 7);
    expect(Array.from(randomScores(100, 'conv1', 7))).toEqual(Array.from(a));
    expect(Array.from(randomScores(100, 'conv1', 8))).not.toEqual(Array.from(a));
    expect(Array.from(randomScores(100, 'conv2', 7))).not.toEqual(Array.from(a));
    expect(a.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean).toBeGreaterThan(0.35);
    expect(mean).toBeLessThan(0.65);
  });
});

describe('scoreGroups with the new weight criteria', () => {
  // in -> a (3) -> bn -> add <- b (3) <- in; add -> out (2): one group {a, b} with a BN (gamma [-10, 0.5, 1]).
  const residual = () =>
    handFunctional(
      [
        ['InputLayer', { name: 'in', batch_input_shape: [null, 4, 4, 2] }, []],
        ['Conv2D', { name: 'a', filters: 3, kernel_size: 1, use_bias: false }, ['in']],
        ['BatchNormalization', { name: 'bn' }, ['a']],
        ['Conv2D', { name: 'b', filters: 3, kernel_size: 1, use_bias: false }, ['in']],
        ['Add', { name: 'add' }, ['bn', 'b']],
        ['GlobalAveragePooling2D', { name: 'gap' }, ['add']],
        ['Dense', { name: 'out', units: 2 }, ['gap']],
      ],
      [
        // a: filter j = (j+1, j+1) in its two inputs
        weight('a/kernel', [1, 1, 2, 3], (i) => (i % 3) + 1),
        weight('bn/gamma', [3], (i) => [-10, 0.5, 1][i]!),
        weight('bn/beta', [3]),
        weight('bn/moving_mean', [3]),
        weight('bn/moving_variance', [3], () => 1),
        // b: filter j = ([3, 7, 1][j], same)
        weight('b/kernel', [1, 1, 2, 3], (i) => [3, 7, 1][i % 3]!),
        weight('out/kernel', [3, 2], (i) => i),
        weight('out/bias', [2]),
      ],
    );

  it('fpgm per producer, reduced over the group (sum / max)', () => {
    const a = residual();
    const ir = buildModelIR(a);
    const graph = buildChannelGraph(ir);
    // a's filters (1,1), (2,2), (3,3): distances sqrt(2)*[1+2, 1+1, 2+1]; b's (3,3), (7,7), (1,1): sqrt(2)*[4+2, 4+6, 2+6].
    const r2 = Math.SQRT2;
    const s = arr(scoreGroups(ir, a, graph, 'fpgm'));
    [9, 12, 11].forEach((v, j) => expect(s['a']![j]).toBeCloseTo(v * r2, 5));
    const m = arr(scoreGroups(ir, a, graph, 'fpgm', { reduction: 'max' }));
    [6, 10, 8].forEach((v, j) => expect(m['a']![j]).toBeCloseTo(v * r2, 5));
    // out: Dense kernel [3 in, 2 out] = [[0, 1], [2, 3], [4, 5]]: columns (0,2,4) and (1,3,5) are sqrt(3) apart.
    expect(s['out']![0]).toBeCloseTo(Math.sqrt(3), 5);
  });

  it('bn-scale reads |gamma| of the group BN; groups without a BN scale fall back to L1 (and are listed)', () => {
    const a = residual();
    const ir = buildModelIR(a);
    const graph = buildChannelGraph(ir);
    const s = arr(scoreGroups(ir, a, graph, 'bn-scale'));
    expect(s['a']).toEqual([10, 0.5, 1]);
    expect(s['out']).toEqual([0 + 2 + 4, 1 + 3 + 5]);
    expect(bnScaleFallbacks(ir, a, graph)).toEqual(['out']);
  });

  it('bn-scale behind a depthwise multiplier sums the m gammas of each channel; scale: false falls back', () => {
    const a = handSequential(
      [
        [
          'Conv2D',
          { name: 'c', filters: 2, kernel_size: 1, use_bias: false, batch_input_shape: [null, 3, 3, 1] },
        ],
        ['DepthwiseConv2D', { name: 'dw', kernel_size: 1, depth_multiplier: 2, use_bias: false }],
        ['BatchNormalization', { name: 'bn' }],
        ['Conv2D', { name: 'd', filters: 2, kernel_size: 1, use_bias: false }],
        ['BatchNormalization', { name: 'bn2', scale: false }],
        ['Flatten', { name: 'f' }],
        ['Dense', { name: 'out', units: 2 }],
      ],
      [
        weight('c/kernel', [1, 1, 1, 2], () => 1),
        weight('dw/depthwise_kernel', [1, 1, 2, 2], () => 1),
        weight('bn/gamma', [4], (i) => [1, -2, 3, 4][i]!),
        weight('bn/beta', [4]),
        weight('bn/moving_mean', [4]),
        weight('bn/moving_variance', [4], () => 1),
        weight('d/kernel', [1, 1, 4, 2], (i) => (i % 2 === 0 ? -1 : 2)),
        weight('bn2/beta', [2]),
        weight('bn2/moving_mean', [2]),
        weight('bn2/moving_variance', [2], () => 1),
        weight('out/kernel', [18, 2]),
        weight('out/bias', [2]),
      ],
    );
    const ir = buildModelIR(a);
    const graph = buildChannelGraph(ir);
    const s = arr(scoreGroups(ir, a, graph, 'bn-scale'));
    expect(s['c']).toEqual([3, 7]);
    expect(s['d']).toEqual([4, 8]);
    expect(bnScaleFallbacks(ir, a, graph)).toEqual(['d', 'out']);
  });

  it('random is one seeded vector per group; data-based criteria are refused with a pointer', () => {
    const a = residual();
    const ir = buildModelIR(a);
    const graph = buildChannelGraph(ir);
    expect(arr(scoreGroups(ir, a, graph, 'random', { seed: 3 }))['a']).toEqual(
      Array.from(randomScores(3, 'a', 3)),
    );
    expect(() => scoreGroups(ir, a, graph, 'taylor')).toThrow(/scoreGroupsWithData/);
  });
});

describe('normalisers', () => {
  const lampReference = (s: number[]): number[] =>
    s.map((v, u) => {
      // entries at least as large as u (ties: a later index counts as larger, like a stable ascending sort)
      const denom = s.reduce((sum, w, i) => {
        const larger = w * w > v * v || (w * w === v * v && i >= u);
        return larger ? sum + w * w : sum;
      }, 0);
      return denom > 0 ? (v * v) / denom : 0;
    });

  it('LAMP by hand and against a plain-loop reference (with ties and zeros)', () => {
    expect(Array.from(lampNormalize(Float32Array.of(1, 2, 3)))).toEqual([1 / 14, 4 / 13, 1].map(Math.fround));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 12 }), (ints) => {
        const s = Float32Array.from(ints, (i) => i / 2);
        const got = Array.from(lampNormalize(s));
        lampReference(Array.from(s)).forEach((w, i) => expect(got[i]).toBeCloseTo(w, 6));
        // the largest of a non-zero group is 1, and LAMP keeps the order of |s|
        if (ints.some((i) => i > 0)) expect(Math.max(...got)).toBeCloseTo(1, 6);
        for (let i = 0; i < s.length; i++)
          for (let j = 0; j < s.length; j++) if (s[i]! < s[j]!) expect(got[i]).toBeLessThan(got[j]!);
      }),
      { numRuns: 300 },
    );
  });

  it('mean divides by the group mean (zeros stay zeros); normalizeScores maps every group and copies', () => {
    expect(Array.from(meanNormalize(Float32Array.of(1, 2, 3)))).toEqual([0.5, 1, 1.5]);
    expect(Array.from(meanNormalize(Float32Array.of(0, 0)))).toEqual([0, 0]);
    const input = { a: Float32Array.of(1, 2, 3), b: Float32Array.of(10, 30) };
    expect(arr(normalizeScores(input, 'mean'))).toEqual({ a: [0.5, 1, 1.5], b: [0.5, 1.5] });
    const none = normalizeScores(input, 'none');
    expect(arr(none)).toEqual(arr(input));
    expect(none['a']).not.toBe(input['a']);
    expect(arr(normalizeScores(input, 'lamp'))['b']).toEqual([0.1, 1].map(Math.fround));
  });
});
