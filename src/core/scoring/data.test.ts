import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifactsData } from '../ir/artifacts';
import type { ModelIR } from '../ir/model-ir';
import type { ChannelGraph } from '../graph/types';
import type { SampleSet } from '../evaluate/sample-set';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../io/tf-artifacts';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { mulberry32, randomizeWeights } from '../testing/random-cnn';
import { transferNested } from '../testing/zoo';
import { observationPoints, scoreGroupsWithData } from './index';

const L = tf.layers;
type T = tf.SymbolicTensor;

/**
 * in [5, 5, 2] -> c1 (3) -> bn1 -> relu1 -> c2 (4) -> bn2 -> add <- s (4, 1x1, bias) <- relu1;
 * add -> relu2 -> gap -> logits (3, softmax). Groups: {c1} seen at relu1, {c2, s} at bn2 and s, {logits}.
 */
function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [5, 5, 2], name: 'image' });
  const ap = (l: tf.layers.Layer, x: T | T[]) => l.apply(x) as T;
  let x = ap(L.conv2d({ name: 'c1', filters: 3, kernelSize: 3, padding: 'same' }), input);
  x = ap(L.batchNormalization({ name: 'bn1' }), x);
  const r1 = ap(L.reLU({ name: 'relu1' }), x);
  let y = ap(L.conv2d({ name: 'c2', filters: 4, kernelSize: 3, padding: 'same', useBias: false }), r1);
  y = ap(L.batchNormalization({ name: 'bn2' }), y);
  const s = ap(L.conv2d({ name: 's', filters: 4, kernelSize: 1 }), r1);
  let z = ap(L.add({ name: 'add' }), [y, s]);
  z = ap(L.reLU({ name: 'relu2' }), z);
  z = ap(L.globalAveragePooling2d({ name: 'gap' }), z);
  const out = ap(L.dense({ name: 'logits', units: 3, activation: 'softmax' }), z);
  return tf.model({ inputs: input, outputs: out, name: 'tiny' });
}

function randomSet(count: number, labelled: boolean, seed: number, shape = [5, 5, 2]): SampleSet {
  const rand = mulberry32(seed);
  const [height, width, channels] = shape as [number, number, number];
  return {
    count,
    height,
    width,
    channels,
    numClasses: 3,
    pixels: Uint8Array.from({ length: count * height * width * channels }, () => Math.floor(rand() * 256)),
    labels: labelled ? Uint8Array.from({ length: count }, () => Math.floor(rand() * 3)) : null,
  };
}

function setTensor(set: SampleSet): tf.Tensor4D {
  return tf.tensor4d(
    Float32Array.from(set.pixels, (b) => b / 255),
    [set.count, set.height, set.width, set.channels],
  );
}

let model: tf.LayersModel;
let artifacts: ModelArtifactsData;
let ir: ModelIR;
let graph: ChannelGraph;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  const built = tinyModel();
  artifacts = randomizeWeights(await artifactsFromLayersModel(built), 11);
  built.dispose();
  // BN: moving means around 0 so ReLUs see both signs; gammas/betas of both signs for Taylor.
  model = await loadLayersModelFromArtifacts(artifacts);
  ir = buildModelIR(artifacts);
  graph = buildChannelGraph(ir);
});

afterAll(() => model.dispose());

/** Reference activations by a multi-output sub-model (tfjs' own executor), read as plain arrays. */
function activations(layers: string[], x: tf.Tensor): { values: Float32Array; shape: number[] }[] {
  const sub = tf.model({ inputs: model.inputs, outputs: layers.map((n) => model.getLayer(n).output as T) });
  const outs = sub.predict(x) as tf.Tensor[];
  const r = outs.map((t) => ({ values: t.dataSync() as Float32Array, shape: t.shape }));
  tf.dispose(outs);
  return r;
}

/** Plain loops: per channel, share of values <= 0 and mean |a|, over every axis but the last. */
function channelStats(a: { values: Float32Array; shape: number[] }): { apoz: number[]; mean: number[] } {
  const c = a.shape[a.shape.length - 1]!;
  const zeros = new Array<number>(c).fill(0);
  const abs = new Array<number>(c).fill(0);
  for (let i = 0; i < a.values.length; i++) {
    if (a.values[i]! <= 0) zeros[i % c]!++;
    abs[i % c]! += Math.abs(a.values[i]!);
  }
  const n = a.values.length / c;
  return { apoz: zeros.map((z) => 1 - z / n), mean: abs.map((s) => s / n) };
}

const close = (got: Float32Array | undefined, want: number[], digits = 5) => {
  expect(got).toBeDefined();
  expect(got!.length).toBe(want.length);
  want.forEach((w, i) => expect(got![i]).toBeCloseTo(w, digits));
};

describe('observation points', () => {
  it('follow each producer through per-value layers it alone feeds', () => {
    expect(observationPoints(ir, graph).map((p) => `${p.producer}@${p.layer}/${p.channels}`)).toEqual([
      'c1@relu1/3',
      'c2@bn2/4',
      's@s/4',
      'logits@logits/3',
    ]);
  });
});

describe('APoZ and mean activation', () => {
  it('match plain loops over sub-model activations, accumulated over uneven batches, per producer and reduced', async () => {
    const set = randomSet(7, true, 5);
    const x = setTensor(set);
    const [r1, b2, s] = activations(['relu1', 'bn2', 's'], x).map(channelStats);
    x.dispose();
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const apoz = await scoreGroupsWithData(model, ir, artifacts, graph, 'apoz', set, {
      batchSize: 3,
      onProgress: (done) => progress.push(done),
    });
    expect(progress).toEqual([3, 6, 7]);
    close(apoz['c1'], r1!.apoz);
    close(
      apoz['c2'],
      b2!.apoz.map((v, i) => v + s!.apoz[i]!),
    );
    // ReLU outputs have real zeros: APoZ says something there.
    expect(r1!.apoz.some((v) => v < 1)).toBe(true);
    const mean = await scoreGroupsWithData(model, ir, artifacts, graph, 'mean-activation', set, {
      batchSize: 4,
      reduction: 'max',
    });
    close(mean['c1'], r1!.mean);
    close(
      mean['c2'],
      b2!.mean.map((v, i) => Math.max(v, s!.mean[i]!)),
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reach inside nested models (scoped names)', async () => {
    const built = transferNested();
    const a = randomizeWeights(await artifactsFromLayersModel(built), 3);
    built.dispose();
    const m = await loadLayersModelFromArtifacts(a);
    const nir = buildModelIR(a);
    const ngraph = buildChannelGraph(nir);
    const set = randomSet(3, false, 9, [6, 6, 2]);
    const before = tf.memory().numTensors;
    const scores = await scoreGroupsWithData(m, nir, a, ngraph, 'mean-activation', set);
    expect(tf.memory().numTensors).toBe(before);
    // Reference: the nested model's own sub-model on the stem's output.
    const x = setTensor(set);
    const stem = tf.model({ inputs: m.inputs, outputs: m.getLayer('stem').output });
    const base = m.getLayer('base') as unknown as tf.LayersModel;
    // base_c1 and base_c2 meet at base_add: one group, seen after base_c1_relu and base_c2_bn.
    const inner = tf.model({
      inputs: base.inputs,
      outputs: ['base_c1_relu', 'base_c2_bn'].map((n) => base.getLayer(n).output as T),
    });
    const h = stem.predict(x) as tf.Tensor;
    const ys = inner.predict(h) as tf.Tensor[];
    const [r, b] = ys.map((y) => channelStats({ values: y.dataSync() as Float32Array, shape: y.shape }).mean);
    tf.dispose([x, h, ...ys]);
    expect(ngraph.groups.find((g) => g.producer === 'base/base_c1')?.producers).toEqual([
      'base/base_c1',
      'base/base_c2',
    ]);
    close(
      scores['base/base_c1'],
      r!.map((v, i) => v + b![i]!),
    );
    m.dispose();
  });
});

describe('a Sequential model', () => {
  it('is walked like a functional one (mean activation after each ReLU)', async () => {
    const built = tf.sequential({
      layers: [
        L.conv2d({ name: 'k1', inputShape: [4, 4, 1], filters: 3, kernelSize: 3, padding: 'same' }),
        L.reLU({ name: 'r1' }),
        L.flatten({ name: 'flat' }),
        L.dense({ name: 'fc', units: 4, activation: 'relu' }),
        L.dense({ name: 'out', units: 2 }),
      ],
    });
    const a = randomizeWeights(await artifactsFromLayersModel(built), 5);
    built.dispose();
    const m = await loadLayersModelFromArtifacts(a);
    const sir = buildModelIR(a);
    const sgraph = buildChannelGraph(sir);
    const set = randomSet(6, false, 4, [4, 4, 1]);
    const scores = await scoreGroupsWithData(m, sir, a, sgraph, 'mean-activation', set, { batchSize: 4 });
    const x = setTensor(set);
    const sub = tf.model({ inputs: m.inputs, outputs: ['r1', 'fc'].map((n) => m.getLayer(n).output as T) });
    const outs = sub.predict(x) as tf.Tensor[];
    const [r1, fc] = outs.map(
      (t) => channelStats({ values: t.dataSync() as Float32Array, shape: t.shape }).mean,
    );
    tf.dispose([x, ...outs]);
    close(scores['k1'], r1!);
    close(scores['fc'], fc!);
    m.dispose();
  });
});

describe('Taylor', () => {
  /**
   * Independent oracle (Euler's theorem): an output that is homogeneous of degree 1 in some
   * parameters `p` satisfies `sum over positions of a * dL/da = sum p * dL/dp`. relu(BN(x)) is, in
   * BN's (gamma, beta); a conv's output is, in its kernel slice and bias. Gradients of the weights
   * come from tfjs' own `model.apply` + `tf.variableGrads`, not from our gates.
   */
  function reference(set: SampleSet): Record<string, number[]> {
    const x = setTensor(set);
    const vars = (layer: string) =>
      model.getLayer(layer).trainableWeights.map((w) => w.read() as tf.Variable);
    const list = [...vars('bn1'), ...vars('bn2'), ...vars('s')];
    const labels = set.labels
      ? tf.tensor1d(set.labels, 'int32')
      : tf.tidy(() => tf.argMax<tf.Tensor1D>(model.predict(x) as tf.Tensor, 1));
    const { value, grads } = tf.variableGrads(() => {
      const p = tf.clipByValue(model.apply(x, { training: false }) as tf.Tensor, 1e-7, 1);
      return tf.neg(tf.sum<tf.Scalar>(tf.mul(tf.oneHot(labels, 3), tf.log(p))));
    }, list);
    const read = (v: tf.Variable) => ({ w: v.dataSync(), g: grads[v.name]!.dataSync(), shape: v.shape });
    const [g1, b1, g2, b2, k, bias] = list.map(read);
    const bnTerm = (g: typeof g1, b: typeof g1) =>
      Array.from(g!.w, (gw, c) => gw * g!.g[c]! + b!.w[c]! * b!.g[c]!);
    // s kernel [1, 1, 3, 4]: channel c owns entries i with i % 4 === c.
    const sTerm = Array.from(bias!.w, (bw, c) => {
      let t = bw * bias!.g[c]!;
      for (let i = c; i < k!.w.length; i += 4) t += k!.w[i]! * k!.g[i]!;
      return t;
    });
    tf.dispose([x, labels, value, ...Object.values(grads)]);
    const n = set.count;
    return {
      c1: bnTerm(g1, b1).map((v) => Math.abs(v) / n),
      c2: bnTerm(g2, b2).map((v) => Math.abs(v) / n),
      s: sTerm.map((v) => Math.abs(v) / n),
    };
  }

  it('equals |sum a * dL/da| / samples from the weight-gradient oracle, on labels, over uneven batches', async () => {
    const set = randomSet(7, true, 21);
    const want = reference(set);
    const before = tf.memory().numTensors;
    const got = await scoreGroupsWithData(model, ir, artifacts, graph, 'taylor', set, { batchSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    close(got['c1'], want['c1']!, 4);
    const perProducer = await scoreGroupsWithData(model, ir, artifacts, graph, 'taylor', set, {
      batchSize: 7,
      reduction: 'max',
    });
    close(
      perProducer['c2'],
      want['c2']!.map((v, i) => Math.max(v, want['s']![i]!)),
      4,
    );
    close(
      got['c2'],
      want['c2']!.map((v, i) => v + want['s']![i]!),
      4,
    );
    expect(want['c1']!.some((v) => v > 1e-4)).toBe(true);
  });

  it("'sum-of-abs' adds each sample's |sum over positions| (the per-sample oracle, summed)", async () => {
    const set = randomSet(5, true, 13);
    const per = Array.from({ length: set.count }, (_, i) =>
      reference({
        ...set,
        count: 1,
        pixels: set.pixels.subarray(i * 50, (i + 1) * 50),
        labels: set.labels!.subarray(i, i + 1),
      }),
    );
    const sum = (key: string) =>
      per[0]![key]!.map((_, c) => per.reduce((t, r) => t + r[key]![c]!, 0) / set.count);
    const got = await scoreGroupsWithData(model, ir, artifacts, graph, 'taylor', set, {
      batchSize: 2,
      taylor: 'sum-of-abs',
    });
    close(got['c1'], sum('c1'), 4);
    close(
      got['c2'],
      sum('c2').map((v, i) => v + sum('s')[i]!),
      4,
    );
    // At least as large as the absolute value of the total, channel by channel.
    const total = await scoreGroupsWithData(model, ir, artifacts, graph, 'taylor', set);
    total['c1']!.forEach((v, i) => expect(got['c1']![i]).toBeGreaterThanOrEqual(v - 1e-6));
  });

  it("without labels, uses the model's own top-1 predictions", async () => {
    const set = randomSet(5, false, 8);
    const want = reference(set);
    const got = await scoreGroupsWithData(model, ir, artifacts, graph, 'taylor', set, { batchSize: 2 });
    close(got['c1'], want['c1']!, 4);
    close(
      got['c2'],
      want['c2']!.map((v, i) => v + want['s']![i]!),
      4,
    );
  });
});

describe('data-based scoring as a job', () => {
  it('stops on abort without leaking, honours maxSamples, and refuses a set of the wrong shape', async () => {
    const set = randomSet(12, true, 2);
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const run = scoreGroupsWithData(model, ir, artifacts, graph, 'taylor', set, {
      batchSize: 2,
      signal: controller.signal,
      onProgress: (done) => {
        if (done >= 4) controller.abort();
      },
      yieldEvery: () => Promise.resolve(),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);

    const seen: number[] = [];
    await scoreGroupsWithData(model, ir, artifacts, graph, 'apoz', set, {
      maxSamples: 5,
      batchSize: 2,
      onProgress: (d, t) => seen.push(d, t),
    });
    expect(seen).toEqual([2, 5, 4, 5, 5, 5]);

    await expect(
      scoreGroupsWithData(model, ir, artifacts, graph, 'apoz', randomSet(2, true, 1, [4, 4, 2])),
    ).rejects.toThrow(/4x4x2 images, but the model's input is \[5, 5, 2\]/);
    // Weight-based criteria pass through.
    const l1 = await scoreGroupsWithData(model, ir, artifacts, graph, 'l1', set);
    expect(l1['c1']).toHaveLength(3);
  });
});

describe('data-based criteria refuse NaN/Inf weights', () => {
  it('names the layers before running anything; weight-based criteria still score', async () => {
    const broken: ModelArtifactsData = {
      ...artifacts,
      weights: artifacts.weights.map((w, i) =>
        i === 0 ? { ...w, values: Float32Array.from(w.values, (v, j) => (j === 1 ? NaN : v)) } : w,
      ),
    };
    const set = randomSet(4, true, 3);
    const before = tf.memory().numTensors;
    for (const criterion of ['apoz', 'mean-activation', 'taylor'] as const) {
      const e = await scoreGroupsWithData(model, ir, broken, graph, criterion, set).catch((x: unknown) => x);
      expect(e).toMatchObject({ name: 'ModelLoadError', code: 'BAD_WEIGHTS' });
      expect((e as Error).message).toMatch(
        new RegExp(
          `^The '${criterion}' criterion runs the model on data, but its weights hold NaN or Inf values: ${artifacts.weights[0]!.name.split('/')[0]!} \\(1 NaN\\)`,
        ),
      );
    }
    expect(tf.memory().numTensors).toBe(before);
    const l1 = await scoreGroupsWithData(model, ir, broken, graph, 'l1', set);
    expect(Object.keys(l1).length).toBeGreaterThan(0);
  });
});
