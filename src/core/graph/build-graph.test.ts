import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import { artifactsFromLayersModel } from '../io/tf-artifacts';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph, describeGroup, memberIndices } from './build-graph';
import { handFunctional, weight } from '../testing/hand-models';
import { applyPlan } from '../surgery/apply-plan';
import { computeCosts, makeCostModel } from '../metrics/costs';
import type { ChannelGraph } from './types';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function graphOf(model: tf.LayersModel): Promise<ChannelGraph> {
  const a = await artifactsFromLayersModel(model);
  model.dispose();
  return buildChannelGraph(buildModelIR(a));
}

function group(graph: ChannelGraph, producer: string) {
  return graph.groups[graph.groupByProducer[producer]!]!;
}

const L = tf.layers;

describe('buildChannelGraph', () => {
  it('walks a plain CNN: groups, members, Flatten spatial, reasons, descriptions', async () => {
    const m = tf.sequential();
    m.add(L.conv2d({ name: 'conv1', inputShape: [16, 16, 1], filters: 8, kernelSize: 3 }));
    m.add(L.batchNormalization({ name: 'bn1' }));
    m.add(L.reLU({ name: 'relu1' }));
    m.add(L.maxPooling2d({ name: 'pool1', poolSize: 2 }));
    m.add(L.conv2d({ name: 'conv2', filters: 16, kernelSize: 3 }));
    m.add(L.batchNormalization({ name: 'bn2' }));
    m.add(L.reLU({ name: 'relu2' }));
    m.add(L.maxPooling2d({ name: 'pool2', poolSize: 2 }));
    m.add(L.flatten({ name: 'flatten' }));
    m.add(L.dense({ name: 'dense1', units: 5 }));
    m.add(L.dense({ name: 'logits', units: 10, activation: 'softmax' }));
    const g = await graphOf(m);

    expect(g.groups.map((x) => [x.producer, x.size, x.prunable])).toEqual([
      ['conv1', 8, true],
      ['conv2', 16, true],
      ['dense1', 5, true],
      ['logits', 10, false],
    ]);
    expect(group(g, 'conv1').members).toEqual([
      { layer: 'conv1', role: 'producer', className: 'Conv2D' },
      { layer: 'bn1', role: 'channelwise', className: 'BatchNormalization' },
      { layer: 'relu1', role: 'channelwise', className: 'ReLU' },
      { layer: 'pool1', role: 'channelwise', className: 'MaxPooling2D' },
      { layer: 'conv2', role: 'consumer', className: 'Conv2D' },
    ]);
    // 16 -> conv 14 -> pool 7 -> conv 5 -> pool 2: 2x2 = 4 positions per channel behind Flatten.
    expect(group(g, 'conv2').members.at(-1)).toEqual({
      layer: 'dense1',
      role: 'consumer',
      className: 'Dense',
      spatial: 4,
    });
    expect(describeGroup(group(g, 'conv2'))).toBe(
      'conv2 (16 filters) -> bn2 -> relu2 -> pool2 -> flatten -> dense1 input rows',
    );
    expect(describeGroup(group(g, 'dense1'))).toBe('dense1 (5 units) -> logits input rows');
    expect(group(g, 'logits').reason).toBe(
      "Dense 'logits' produces the model's output (10 values), so none can be removed.",
    );
    expect(g.groupsByLayer['conv2']).toEqual([0, 1]);
    expect(g.layerClasses?.['flatten']).toBe('Flatten');
  });

  it('passes through DepthwiseConv2D with its multiplier, and through global pooling', async () => {
    const m = tf.sequential();
    m.add(L.conv2d({ name: 'c1', inputShape: [8, 8, 3], filters: 4, kernelSize: 1 }));
    m.add(L.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2 }));
    m.add(L.conv2d({ name: 'c2', filters: 6, kernelSize: 1 }));
    m.add(L.globalAveragePooling2d({ name: 'gap' }));
    const g = await graphOf(m);
    expect(group(g, 'c1').members).toEqual([
      { layer: 'c1', role: 'producer', className: 'Conv2D' },
      { layer: 'dw', role: 'channelwise', className: 'DepthwiseConv2D' },
      { layer: 'c2', role: 'consumer', className: 'Conv2D', multiplier: 2 },
    ]);
    expect(group(g, 'c1').prunable).toBe(true);
    expect(group(g, 'c2').reason).toBe(
      "Conv2D 'c2' reaches the model's output through 'gap', so none of its 6 filters can be removed.",
    );
  });

  it('freezes a group added to the model input or feeding a Reshape that mixes channels; places concat inputs at offsets', async () => {
    const input = tf.input({ shape: [8, 8, 4], name: 'in' });
    const a = L.conv2d({ name: 'a', filters: 4, kernelSize: 3, padding: 'same' }).apply(
      input,
    ) as tf.SymbolicTensor;
    const b = L.conv2d({ name: 'b', filters: 4, kernelSize: 1 }).apply(a) as tf.SymbolicTensor;
    const bn = L.batchNormalization({ name: 'bn' }).apply(b) as tf.SymbolicTensor;
    const sum = L.add({ name: 'add' }).apply([input, bn]) as tf.SymbolicTensor;
    const c = L.conv2d({ name: 'c', filters: 3, kernelSize: 1 }).apply(sum) as tf.SymbolicTensor;
    const cat = L.concatenate({ name: 'cat' }).apply([c, sum]) as tf.SymbolicTensor;
    const d = L.conv2d({ name: 'd', filters: 2, kernelSize: 1 }).apply(cat) as tf.SymbolicTensor;
    const r = L.reshape({ name: 'r', targetShape: [128] }).apply(d) as tf.SymbolicTensor;
    const out = L.dense({ name: 'out', units: 2 }).apply(r) as tf.SymbolicTensor;
    const g = await graphOf(tf.model({ inputs: input, outputs: out }));
    expect(group(g, 'a').prunable).toBe(true);
    expect(group(g, 'b').reason).toBe(
      "Conv2D 'b' shares its channels with the model's input 'in' at Add 'add', so none can be removed.",
    );
    // The model's input is in b's group, so 'a' reads it too.
    expect(describeGroup(group(g, 'b'))).toBe(
      'a input channels -> b (4 filters) -> bn -> add -> c input channels -> cat (at 3) -> d input channels (at 3)',
    );
    expect(group(g, 'c').prunable).toBe(true);
    expect(describeGroup(group(g, 'c'))).toBe('c (3 filters) -> cat -> d input channels');
    expect(g.layouts?.['cat']).toEqual({
      width: 7,
      slots: [
        { group: 2, offset: 0, multiplier: 1, spatial: 1, stride: 3 },
        { group: 1, offset: 3, multiplier: 1, spatial: 1, stride: 4 },
      ],
    });
    expect(group(g, 'd').reason).toBe(
      "Conv2D 'd' feeds Reshape 'r', which can move values between channels.",
    );
  });

  it('notes softmax / LayerNorm over channels as caveats, still prunable', async () => {
    const m = tf.sequential();
    m.add(L.dense({ name: 'h', inputShape: [6], units: 4 }));
    m.add(L.layerNormalization({ name: 'ln' }));
    m.add(L.activation({ name: 'sm', activation: 'softmax' }));
    m.add(L.dense({ name: 'out', units: 2 }));
    const h = group(await graphOf(m), 'h');
    expect(h.prunable).toBe(true);
    expect(h.caveats).toEqual([
      "LayerNormalization 'ln': it normalises over the channels, so removing channels changes the kept ones' values.",
      "Activation 'sm': its softmax normalises over the channels, so removing channels changes the kept ones' values.",
    ]);
  });

  it('explains grouped convolutions and Flatten of an unknown size', () => {
    const w = (name: string, shape: number[]): WeightTensor => ({
      name,
      shape,
      dtype: 'float32',
      values: new Float32Array(shape.reduce((p, d) => p * d, 1)),
    });
    const a: ModelArtifactsData = {
      modelTopology: {
        class_name: 'Sequential',
        config: {
          layers: [
            {
              class_name: 'Conv2D',
              config: { name: 'c1', filters: 4, kernel_size: 1, batch_input_shape: [null, null, null, 2] },
            },
            { class_name: 'Conv2D', config: { name: 'g', filters: 4, kernel_size: 1, groups: 2 } },
            { class_name: 'Flatten', config: { name: 'f' } },
            { class_name: 'Dense', config: { name: 'd', units: 2, use_bias: false } },
          ],
        },
      },
      weights: [
        w('c1/kernel', [1, 1, 2, 4]),
        w('c1/bias', [4]),
        w('g/kernel', [1, 1, 2, 4]),
        w('g/bias', [4]),
        w('d/kernel', [36, 2]),
      ],
    };
    const g = buildChannelGraph(buildModelIR(a));
    expect(group(g, 'c1').reason).toBe(
      "Conv2D 'c1' feeds Conv2D 'g', which is a grouped convolution (groups=2).",
    );
    expect(group(g, 'g').reason).toBe(
      "Conv2D 'g' is a grouped convolution (groups=2), which PruneLab cannot prune yet.",
    );
    // Without the grouped conv, c1 reaches a Flatten of an unknown spatial size.
    const topo = structuredClone(a.modelTopology);
    (topo.config as { layers: unknown[] }).layers.splice(1, 1);
    const f = buildChannelGraph(
      buildModelIR({ modelTopology: topo, weights: [a.weights[0]!, a.weights[1]!, w('d/kernel', [36, 2])] }),
    );
    expect(group(f, 'c1').reason).toBe(
      "Conv2D 'c1' feeds Flatten 'f', which flattens an input of unknown size [null,null,null,4].",
    );
  });
});

describe('buildChannelGraph on hand-written DAGs (classes tfjs cannot run)', () => {
  const conv = (name: string, filters: number, from: string, extra: Record<string, unknown> = {}) =>
    ['Conv2D', { name, filters, kernel_size: 1, use_bias: false, ...extra }, [from]] as [
      string,
      Record<string, unknown>,
      string[],
    ];
  const k = (name: string, cin: number, cout: number) => weight(`${name}/kernel`, [1, 1, cin, cout]);
  const input = ['InputLayer', { name: 'in', batch_input_shape: [null, 4, 4, 3] }, []] as [
    string,
    Record<string, unknown>,
    string[],
  ];

  it('Subtract couples; a 1-channel broadcast input does not; unknown classes load and freeze only what they touch', () => {
    const a = handFunctional(
      [
        input,
        conv('a', 4, 'in'),
        conv('b', 4, 'in'),
        ['Subtract', { name: 'sub' }, ['a', 'b']],
        conv('gate', 1, 'in'),
        ['Multiply', { name: 'mul' }, ['sub', 'gate']],
        conv('c', 5, 'mul'),
        ['MyCustomLayer', { name: 'custom', secret: 3 }, ['c']],
        conv('d', 2, 'custom'),
        ['Lambda', { name: 'lam', function: 'lambda x: x' }, ['d']],
        ['GlobalAveragePooling2D', { name: 'gap' }, ['lam']],
        ['Dense', { name: 'out', units: 2 }, ['gap']],
      ],
      [
        k('a', 3, 4),
        k('b', 3, 4),
        k('gate', 3, 1),
        k('c', 4, 5),
        weight('custom/w', [7]),
        k('d', 5, 2),
        weight('out/kernel', [2, 2]),
        weight('out/bias', [2]),
      ],
    );
    const ir = buildModelIR(a);
    // Behind the custom layer, d's input width comes back from d's kernel.
    expect(ir.layers.find((l) => l.name === 'd')!.inputShape).toEqual([null, null, null, 5]);
    const g = buildChannelGraph(ir);
    expect(g.groups.map((x) => [x.producers, x.prunable])).toEqual([
      [['a', 'b'], true],
      [['gate'], true],
      [['c'], false],
      [['d'], false],
      [['out'], false],
    ]);
    expect(describeGroup(group(g, 'b'))).toBe(
      'a (4 filters) -> b (4 filters) -> sub -> mul -> c input channels',
    );
    expect(group(g, 'c').reason).toBe(
      "Conv2D 'c' feeds MyCustomLayer 'custom', which is a MyCustomLayer layer, whose channel behaviour PruneLab does not know.",
    );
    expect(group(g, 'd').reason).toBe(
      "Conv2D 'd' feeds Lambda 'lam', which is a Lambda layer, whose channel behaviour PruneLab does not know.",
    );
    // Surgery and costs work around the unknown layers.
    const plan = { version: 1 as const, remove: { b: [0, 3] } };
    const pruned = applyPlan(a, plan, ir, g).artifacts;
    expect(pruned.weights.map((w) => [w.name, w.shape])).toEqual([
      ['a/kernel', [1, 1, 3, 2]],
      ['b/kernel', [1, 1, 3, 2]],
      ['gate/kernel', [1, 1, 3, 1]],
      ['c/kernel', [1, 1, 2, 5]],
      ['custom/w', [7]],
      ['d/kernel', [1, 1, 5, 2]],
      ['out/kernel', [2, 2]],
      ['out/bias', [2]],
    ]);
    expect(makeCostModel(ir, g).evaluate(plan)).toEqual(computeCosts(buildModelIR(pruned)));
  });

  it('couples adds of depthwise (m=2) outputs and a concat along a spatial axis; passes a channel-preserving Reshape and Permute', () => {
    const dw = (name: string, from: string) =>
      ['DepthwiseConv2D', { name, kernel_size: 1, depth_multiplier: 2, use_bias: false }, [from]] as [
        string,
        Record<string, unknown>,
        string[],
      ];
    const a = handFunctional(
      [
        input,
        conv('a', 3, 'in'),
        conv('b', 3, 'in'),
        conv('e', 3, 'in'),
        dw('dwa', 'a'),
        dw('dwb', 'b'),
        dw('dwe', 'e'),
        ['Add', { name: 'add' }, ['dwa', 'dwb']],
        ['Permute', { name: 'swap', dims: [2, 1, 3] }, ['add']],
        ['Concatenate', { name: 'rows', axis: 1 }, ['swap', 'dwe']],
        ['GlobalAveragePooling2D', { name: 'gap' }, ['rows']],
        ['Reshape', { name: 'unsqueeze', target_shape: [1, 1, 6] }, ['gap']],
        ['Flatten', { name: 'flat' }, ['unsqueeze']],
        ['Dense', { name: 'out', units: 2, use_bias: false }, ['flat']],
        conv('f', 4, 'in'),
        ['Reshape', { name: 'mix', target_shape: [8, 8] }, ['f']],
        ['Flatten', { name: 'flat2' }, ['mix']],
        ['Dense', { name: 'out2', units: 1, use_bias: false }, ['flat2']],
      ],
      [
        k('a', 3, 3),
        k('b', 3, 3),
        k('e', 3, 3),
        weight('dwa/depthwise_kernel', [1, 1, 3, 2]),
        weight('dwb/depthwise_kernel', [1, 1, 3, 2]),
        weight('dwe/depthwise_kernel', [1, 1, 3, 2]),
        weight('out/kernel', [6, 2]),
        k('f', 3, 4),
        weight('out2/kernel', [64, 1]),
      ],
      ['out', 'out2'],
    );
    const ir = buildModelIR(a);
    const g = buildChannelGraph(ir);
    const abe = group(g, 'a');
    expect(abe.producers).toEqual(['a', 'b', 'e']);
    expect(abe.prunable).toBe(true);
    expect(describeGroup(abe)).toBe(
      'a (3 filters) -> b (3 filters) -> e (3 filters) -> dwa -> dwb -> dwe -> add -> swap -> rows -> gap -> unsqueeze -> flat -> out input rows',
    );
    const add = abe.members.find((m) => m.layer === 'add')!;
    expect(add).toEqual({ layer: 'add', role: 'channelwise', className: 'Add', multiplier: 2 });
    expect(memberIndices(abe, add, [1])).toEqual([2, 3]);
    expect(group(g, 'f').reason).toBe(
      "Conv2D 'f' feeds Reshape 'mix', which can move values between channels.",
    );
    // Surgery rewrites the channel count the Reshape spells out; costs match a recount.
    const plan = { version: 1 as const, remove: { e: [1] } };
    const pruned = applyPlan(a, plan, ir, g).artifacts;
    const unsqueeze = (
      pruned.modelTopology.config as { layers: { name: string; config: Record<string, unknown> }[] }
    ).layers.find((l) => l.name === 'unsqueeze')!;
    expect(unsqueeze.config['target_shape']).toEqual([1, 1, 4]);
    expect(pruned.weights.find((w) => w.name === 'out/kernel')!.shape).toEqual([4, 2]);
    expect(makeCostModel(ir, g).evaluate(plan)).toEqual(computeCosts(buildModelIR(pruned)));
  });
});
