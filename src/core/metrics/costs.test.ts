import { describe, expect, it } from 'vitest';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { applyPlan } from '../surgery/apply-plan';
import { mulberry32 } from '../testing/random-cnn';
import { handSequential, weight } from '../testing/hand-models';
import { emptyPlan, type PruningPlan } from '../plan/plan';
import { computeCosts, makeCostModel } from './costs';

function small() {
  return handSequential(
    [
      ['Conv2D', { name: 'conv1', filters: 8, kernel_size: [3, 3], batch_input_shape: [null, 28, 28, 1] }],
      ['Flatten', { name: 'flatten' }],
      ['Dense', { name: 'out', units: 10 }],
    ],
    [
      weight('conv1/kernel', [3, 3, 1, 8]),
      weight('conv1/bias', [8]),
      weight('out/kernel', [5408, 10]),
      weight('out/bias', [10]),
    ],
  );
}

describe('costs', () => {
  it('counts params, FLOPs (2 x MACs, bias ignored) and float32 bytes by hand', () => {
    const ir = buildModelIR(small());
    const c = computeCosts(ir);
    expect(c.layers).toEqual([
      { name: 'conv1', params: 80, flops: 2 * 9 * 1 * 8 * 26 * 26, outChannels: 8 },
      { name: 'flatten', params: 0, flops: 0, outChannels: 5408 },
      { name: 'out', params: 54090, flops: 2 * 5408 * 10, outChannels: 10 },
    ]);
    expect(c.params).toBe(54170);
    expect(c.bytes).toBe(4 * 54170);
    const model = makeCostModel(ir, buildChannelGraph(ir));
    expect(model.evaluate(emptyPlan())).toEqual(c);
    const after = model.evaluate({ version: 1, remove: { conv1: [0, 7] } });
    expect(after.layers).toEqual([
      { name: 'conv1', params: 60, flops: 2 * 9 * 6 * 676, outChannels: 6 },
      { name: 'flatten', params: 0, flops: 0, outChannels: 4056 },
      { name: 'out', params: 40570, flops: 2 * 4056 * 10, outChannels: 10 },
    ]);
    // Unsorted, duplicated lists count each channel once; unprunable groups are ignored.
    expect(model.evaluate({ version: 1, remove: { conv1: [7, 0, 7], out: [1] } })).toEqual(after);
  });

  it('depthwise, transposed and separable convolutions', () => {
    const ir = buildModelIR(
      handSequential(
        [
          [
            'DepthwiseConv2D',
            { name: 'dw', kernel_size: 3, depth_multiplier: 2, batch_input_shape: [null, 8, 8, 4] },
          ],
          ['SeparableConv2D', { name: 'sep', filters: 5, kernel_size: 3 }],
          ['Conv2DTranspose', { name: 'tr', filters: 3, kernel_size: 3, strides: 2, padding: 'same' }],
        ],
        [
          weight('dw/depthwise_kernel', [3, 3, 4, 2]),
          weight('dw/bias', [8]),
          weight('sep/depthwise_kernel', [3, 3, 8, 1]),
          weight('sep/pointwise_kernel', [1, 1, 8, 5]),
          weight('sep/bias', [5]),
          weight('tr/kernel', [3, 3, 3, 5]),
          weight('tr/bias', [3]),
        ],
      ),
    );
    expect(computeCosts(ir).layers).toEqual([
      { name: 'dw', params: 80, flops: 2 * 9 * 4 * 2 * 36, outChannels: 8 },
      { name: 'sep', params: 72 + 40 + 5, flops: 2 * (9 * 8 * 16 + 8 * 5 * 16), outChannels: 5 },
      { name: 'tr', params: 138, flops: 2 * 9 * 5 * 3 * 16, outChannels: 3 },
    ]);
  });

  it('the fast path equals a full recount of the pruned model on a 300-layer CNN', () => {
    const layers: [string, Record<string, unknown>][] = [];
    const weights = [];
    let inCh = 3;
    for (let i = 0; i < 100; i++) {
      const f = 8 + (i % 4) * 4;
      layers.push([
        'Conv2D',
        {
          name: `c${i}`,
          filters: f,
          kernel_size: 3,
          padding: 'same',
          ...(i === 0 ? { batch_input_shape: [null, 6, 6, 3] } : {}),
        },
      ]);
      layers.push(['BatchNormalization', { name: `b${i}` }]);
      layers.push(['ReLU', { name: `r${i}` }]);
      weights.push(weight(`c${i}/kernel`, [3, 3, inCh, f]), weight(`c${i}/bias`, [f]));
      for (const role of ['gamma', 'beta', 'moving_mean', 'moving_variance'])
        weights.push(weight(`b${i}/${role}`, [f]));
      inCh = f;
    }
    layers.push(['GlobalAveragePooling2D', { name: 'gap' }], ['Dense', { name: 'logits', units: 10 }]);
    weights.push(weight('logits/kernel', [inCh, 10]), weight('logits/bias', [10]));
    const a = handSequential(layers, weights);
    const ir = buildModelIR(a);
    const graph = buildChannelGraph(ir);
    const model = makeCostModel(ir, graph);
    const rand = mulberry32(42);
    for (let t = 0; t < 3; t++) {
      const remove: Record<string, number[]> = {};
      for (const g of graph.groups) {
        if (!g.prunable) continue;
        const list = Array.from({ length: g.size }, (_, i) => i).filter(() => rand() < 0.4);
        if (list.length < g.size && list.length > 0) remove[g.producer] = list;
      }
      const plan: PruningPlan = { version: 1, remove };
      const pruned = applyPlan(a, plan, ir, graph).artifacts;
      expect(model.evaluate(plan)).toEqual(computeCosts(buildModelIR(pruned)));
    }
  });
});
