import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { handFunctional, handSequential, weight } from '../testing/hand-models';
import { CRITERIA, l1Norms, l2Norms, scoreGroups } from './index';

describe('magnitude scores', () => {
  it('L1 and L2 per slice of an axis, by hand', () => {
    // kernel [1, 1, 2 in, 2 out] = [[1, -2], [3, 4]] (rows: in, columns: out)
    const k = { shape: [1, 1, 2, 2], values: Float32Array.of(1, -2, 3, 4) };
    expect(Array.from(l1Norms(k, 3))).toEqual([4, 6]);
    expect(Array.from(l2Norms(k, 3))).toEqual([Math.fround(Math.sqrt(10)), Math.fround(Math.sqrt(20))]);
    expect(Array.from(l1Norms(k, 2))).toEqual([3, 7]);
  });

  it('L1 and L2 equal a plain per-entry sum on every axis, bit for bit (random shapes, zero-size axes included)', () => {
    // The oracle: entry i adds to channel floor(i / inner) % size, in entry order, as float64.
    const reference = (shape: number[], values: Float32Array, axis: number, square: boolean) => {
      const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
      const acc = new Float64Array(shape[axis]!);
      for (let i = 0; i < values.length; i++) {
        const x = values[i]!;
        acc[Math.floor(i / inner) % shape[axis]!]! += square ? x * x : Math.abs(x);
      }
      return square ? Float32Array.from(acc, Math.sqrt) : Float32Array.from(acc);
    };
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.integer(),
        (shape, axisSeed, seed) => {
          const n = shape.reduce((p, d) => p * d, 1);
          let x = seed | 0;
          const values = Float32Array.from({ length: n }, () => {
            x = (Math.imul(x, 1103515245) + 12345) | 0;
            // Magnitudes 2^-30..2^30, so float64 sums round and a changed order of adds shows.
            return (x >> 8) * 2 ** ((x & 63) - 50);
          });
          const axis = axisSeed % shape.length;
          const w = { shape, values };
          expect(l1Norms(w, axis)).toEqual(reference(shape, values, axis, false));
          expect(l2Norms(w, axis)).toEqual(reference(shape, values, axis, true));
        },
      ),
      { numRuns: 300 },
    );
    // Adds in entry order: after 2^53, adding 2^29, 1, 1 one at a time loses both 1s (ties to even)
    // and lands on a float32 tie that rounds down; adding them as one sum (2^29 + 2) would round up.
    const order = { shape: [8, 1], values: Float32Array.of(2 ** 53, 0, 0, 0, 2 ** 29, 1, 1, 0) };
    expect(l1Norms(order, 1)).toEqual(Float32Array.of(2 ** 53));
    expect(l1Norms(order, 1)).toEqual(reference(order.shape, order.values, 1, false));
  });

  it('scoreGroups reads each producer kernel on its out axis (Conv2D last, Conv2DTranspose axis 2, separable pointwise)', () => {
    const a = handSequential(
      [
        ['Conv2D', { name: 'c', filters: 3, kernel_size: 1, batch_input_shape: [null, 4, 4, 2] }],
        ['Conv2DTranspose', { name: 't', filters: 2, kernel_size: 1 }],
        ['SeparableConv2D', { name: 's', filters: 2, kernel_size: 1 }],
        ['Flatten', { name: 'f' }],
        ['Dense', { name: 'd', units: 2 }],
      ],
      [
        // c kernel [1,1,2,3]: value = out index + 1 -> L1 of filter j = 2*(j+1)
        weight('c/kernel', [1, 1, 2, 3], (i) => (i % 3) + 1),
        weight('c/bias', [3], () => 100),
        // t kernel [1,1,out 2,in 3]: entry i sits on out floor(i/3) % 2 -> value -(out+1)
        weight('t/kernel', [1, 1, 2, 3], (i) => -((Math.floor(i / 3) % 2) + 1)),
        weight('t/bias', [2]),
        weight('s/depthwise_kernel', [1, 1, 2, 1], () => 50),
        weight('s/pointwise_kernel', [1, 1, 2, 2], (i) => (i % 2 === 0 ? 3 : 4)),
        weight('s/bias', [2]),
        weight('d/kernel', [32, 2], (i) => (i % 2 === 0 ? 1 : -0.5)),
        weight('d/bias', [2]),
      ],
    );
    const ir = buildModelIR(a);
    const s = scoreGroups(ir, a, buildChannelGraph(ir), 'l1');
    expect(Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Array.from(v)]))).toEqual({
      c: [2, 4, 6],
      t: [3, 6],
      s: [6, 8],
      d: [32, 16],
    });
    const l2 = scoreGroups(ir, a, buildChannelGraph(ir), 'l2');
    expect(Array.from(l2['s']!)).toEqual([Math.fround(Math.sqrt(18)), Math.fround(Math.sqrt(32))]);
    expect(CRITERIA.map((c) => c.id).slice(0, 2)).toEqual(['l1', 'l2']);
  });
});

describe('group importance', () => {
  // in -> a (3) -> bn -> add <- b (3) <- in; add -> out (2): one group {a, b} with a BN.
  const model = () =>
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
        // a kernel [1,1,2,3]: filter j has entries (j+1, j+1) -> L1 2(j+1) = [2, 4, 6]
        weight('a/kernel', [1, 1, 2, 3], (i) => (i % 3) + 1),
        weight('bn/gamma', [3], (i) => [-10, 0.5, 1][i]!),
        weight('bn/beta', [3]),
        weight('bn/moving_mean', [3]),
        weight('bn/moving_variance', [3], () => 1),
        // b kernel: filter j has (3-j, 3-j) -> L1 [6, 4, 2]... and a peak on filter 1
        weight('b/kernel', [1, 1, 2, 3], (i) => [3, 7, 1][i % 3]!),
        weight('out/kernel', [3, 2]),
        weight('out/bias', [2]),
      ],
    );

  it('reduces the criterion over every producer of a coupled group: sum (default), mean, max, and BN scale', () => {
    const a = model();
    const ir = buildModelIR(a);
    const graph = buildChannelGraph(ir);
    expect(graph.groups[0]!.producers).toEqual(['a', 'b']);
    const arr = (r: Record<string, Float32Array>) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));
    expect(arr(scoreGroups(ir, a, graph, 'l1'))).toEqual({ a: [8, 18, 8], out: [0, 0] });
    expect(arr(scoreGroups(ir, a, graph, 'l1', { reduction: 'mean' }))).toEqual({
      a: [4, 9, 4],
      out: [0, 0],
    });
    expect(arr(scoreGroups(ir, a, graph, 'l1', { reduction: 'max' }))).toEqual({
      a: [6, 14, 6],
      out: [0, 0],
    });
    expect(arr(scoreGroups(ir, a, graph, 'l1', { reduction: 'sum', bnScale: true }))['a']).toEqual([
      18, 18.5, 9,
    ]);
  });
});
