import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel } from '../../../core/io/tf-artifacts';
import { buildModelIR } from '../../../core/ir/build-ir';
import { buildChannelGraph } from '../../../core/graph/build-graph';
import type { ChannelGraph } from '../../../core/graph/types';
import type { ModelIR } from '../../../core/ir/model-ir';
import { makeCostModel } from '../../../core/metrics/costs';
import { inceptionStyle, resnetStyle } from '../../../core/testing/zoo';
import { buildGraphModel, edgeChannels, formatShape, groupHue, type GraphModel } from './graph-model';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** The bundled sample's shape: conv1(16) bn relu pool conv2(32) bn relu pool flatten dense1(32) dense_out(10). */
function sampleLike(): tf.LayersModel {
  const L = tf.layers;
  const m = tf.sequential({ name: 'sample_like' });
  m.add(L.conv2d({ name: 'conv1', filters: 16, kernelSize: 3, inputShape: [14, 14, 1] }));
  m.add(L.batchNormalization({ name: 'bn1' }));
  m.add(L.reLU({ name: 'relu1' }));
  m.add(L.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  m.add(L.conv2d({ name: 'conv2', filters: 32, kernelSize: 3 }));
  m.add(L.batchNormalization({ name: 'bn2' }));
  m.add(L.reLU({ name: 'relu2' }));
  m.add(L.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  m.add(L.flatten({ name: 'flatten' }));
  m.add(L.dense({ name: 'dense1', units: 32 }));
  m.add(L.dense({ name: 'dense_out', units: 10, activation: 'softmax' }));
  return m;
}

async function analyse(
  build: () => tf.LayersModel,
): Promise<{ ir: ModelIR; graph: ChannelGraph; model: GraphModel }> {
  const m = build();
  const artifacts = await artifactsFromLayersModel(m);
  m.dispose();
  const ir = buildModelIR(artifacts);
  const graph = buildChannelGraph(ir);
  return { ir, graph, model: buildGraphModel(ir, graph) };
}

const byName = (model: GraphModel, name: string) => {
  const n = model.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
};

describe('buildGraphModel', () => {
  it('has one node per layer with class and output shape, and one edge per inbound link', async () => {
    const { ir, model } = await analyse(sampleLike);
    expect(model.nodes.map((n) => n.name)).toEqual(ir.layers.map((l) => l.name));
    expect(model.nodes).toHaveLength(11);
    expect(byName(model, 'conv1').label).toBe('conv1, Conv2D, 12×12×16');
    expect(byName(model, 'pool2').shape).toBe('2×2×32');
    expect(byName(model, 'flatten').label).toBe('flatten, Flatten, 128');
    expect(model.edges).toHaveLength(10);
    expect(model.edges[3]).toEqual({ from: 'pool1', to: 'conv2' });
  });

  it('colours a group alike: its producer and the layers its channels pass through, not its consumer', async () => {
    const { model } = await analyse(sampleLike);
    const hue1 = byName(model, 'conv1').hue;
    expect(hue1).not.toBeNull();
    for (const n of ['bn1', 'relu1', 'pool1']) expect(byName(model, n).hue).toBe(hue1);
    expect(byName(model, 'conv2').hue).not.toBe(hue1);
    expect(byName(model, 'conv2').group).not.toBe(byName(model, 'conv1').group);
    expect(byName(model, 'conv1').producer).toBe(true);
    expect(byName(model, 'bn1').producer).toBe(false);
  });

  it('colours a residual stage, every producer adding into it, in one hue', async () => {
    const { graph, model } = await analyse(resnetStyle);
    const stage = ['stem', 'stem_bn', 'b1_c2', 'b1_add', 'b2_c2', 'b2_add', 'b1_out'];
    const groups = new Set(stage.map((n) => byName(model, n).group));
    expect(groups.size).toBe(1);
    const gid = [...groups][0]!;
    expect(graph.groups[gid]!.producers.length).toBeGreaterThanOrEqual(3);
    expect(new Set(stage.map((n) => byName(model, n).hue))).toEqual(new Set([groupHue(gid)]));
    // The block's inner conv is a group of its own.
    expect(byName(model, 'b1_c1').group).not.toBe(gid);
  });

  it('leaves a Concatenate of several groups uncoloured (no single group)', async () => {
    const { model } = await analyse(inceptionStyle);
    expect(byName(model, 'mixed_a').group).toBeNull();
    expect(byName(model, 'mixed_a').hue).toBeNull();
    expect(byName(model, 'a_1x1').group).not.toBeNull();
    // Four branches into mixed_a, three into mixed_b, two into mixed_ab.
    expect(model.edges.filter((e) => e.to === 'mixed_a')).toHaveLength(4);
    expect(model.edges.filter((e) => e.to === 'mixed_ab')).toHaveLength(2);
  });

  it("marks the output layer's group frozen with the graph's reason, and no prunable group", async () => {
    const { graph, model } = await analyse(sampleLike);
    const out = byName(model, 'dense_out');
    const reason = graph.groups[out.group!]!.reason;
    expect(reason).toMatch(/output/);
    expect(out.frozen).toBe(reason);
    expect(model.nodes.filter((n) => n.frozen !== null).map((n) => n.name)).toEqual(['dense_out']);
  });

  it('spreads the hues of neighbouring group ids apart', () => {
    for (let g = 0; g < 40; g++) {
      const d = Math.abs(groupHue(g) - groupHue(g + 1));
      expect(Math.min(d, 360 - d)).toBeGreaterThan(100);
    }
  });

  it('formats shapes without the batch', () => {
    expect(formatShape([null, 28, 28, 32])).toBe('28×28×32');
    expect(formatShape([null, null, 5])).toBe('?×5');
    expect(formatShape([null])).toBe('scalar');
  });
});

describe('edgeChannels', () => {
  it('labels every tensor of a group with its channels before and after the plan', async () => {
    const { graph, model } = await analyse(sampleLike);
    const ch = edgeChannels(model, graph, { version: 1, remove: { conv1: [0, 1, 2, 3, 4, 5, 6, 7] } });
    expect([...ch.keys()].sort()).toEqual(['bn1', 'conv1', 'pool1', 'relu1']);
    expect(ch.get('pool1')).toEqual({ before: 16, after: 8 });
    // conv2's own output keeps its 32 channels.
    expect(ch.has('conv2')).toBe(false);
  });

  it('counts a Flatten in flat positions (channels x spatial) and agrees with the cost model', async () => {
    const { ir, graph, model } = await analyse(sampleLike);
    const plan = { version: 1 as const, remove: { conv2: [1, 5, 9], dense1: [0, 1, 2, 3, 4] } };
    const ch = edgeChannels(model, graph, plan);
    // pool2 is 2x2x32: 3 channels out of 32 at 4 positions each.
    expect(ch.get('flatten')).toEqual({ before: 128, after: 116 });
    expect(ch.get('dense1')).toEqual({ before: 32, after: 27 });
    const costs = makeCostModel(ir, graph).evaluate(plan);
    for (const layer of costs.layers) {
      const c = ch.get(layer.name);
      if (c) expect(c.after).toBe(layer.outChannels);
    }
  });

  it('shrinks a Concatenate by what each input group loses, at its offset', async () => {
    const { graph, model } = await analyse(inceptionStyle);
    const ch = edgeChannels(model, graph, { version: 1, remove: { a_3x3: [0, 1], a_avg_proj: [2] } });
    // mixed_a = 3 + 4 + 2 + 3 = 12 channels, minus 2 and 1.
    expect(ch.get('mixed_a')).toEqual({ before: 12, after: 9 });
    expect(ch.get('a_3x3')).toEqual({ before: 4, after: 2 });
    expect(ch.get('a_1x1')).toBeUndefined();
  });

  it('ignores an empty plan, an unknown producer and a frozen group', async () => {
    const { graph, model } = await analyse(sampleLike);
    expect(edgeChannels(model, graph, { version: 1, remove: {} }).size).toBe(0);
    expect(edgeChannels(model, graph, { version: 1, remove: { nope: [1], dense_out: [0, 1] } }).size).toBe(0);
  });
});
