import { describe, expect, it } from 'vitest';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { handSequential, weight } from '../testing/hand-models';
import { CRITERIA, l1Norms, l2Norms, scoreGroups } from './index';

describe('magnitude scores', () => {
  it('L1 and L2 per slice of an axis, by hand', () => {
    // kernel [1, 1, 2 in, 2 out] = [[1, -2], [3, 4]] (rows: in, columns: out)
    const k = { shape: [1, 1, 2, 2], values: Float32Array.of(1, -2, 3, 4) };
    expect(Array.from(l1Norms(k, 3))).toEqual([4, 6]);
    expect(Array.from(l2Norms(k, 3))).toEqual([Math.fround(Math.sqrt(10)), Math.fround(Math.sqrt(20))]);
    expect(Array.from(l1Norms(k, 2))).toEqual([3, 7]);
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
    expect(CRITERIA.map((c) => c.id)).toEqual(['l1', 'l2']);
  });
});
