/**
 * ONNX import and export against an independent runtime (onnxruntime-node runs the files; PyTorch's
 * own outputs are the references). Fixtures: src/core/io/__fixtures__/onnx (see its SOURCES.md);
 * the 14 MB MobileNetV2 is not in the repository: its tests run when ../shared/fixtures/onnx has it
 * and say that they skipped otherwise.
 */
// eslint-disable-next-line no-restricted-imports -- vitest runs in Node: the fixtures are read from disk
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { InputFile, ModelArtifactsData } from '../../ir/artifacts';
import { buildChannelGraph, memberIndices } from '../../graph/build-graph';
import type { ChannelGraph } from '../../graph/types';
import { buildModelIR } from '../../ir/build-ir';
import { loadModel, type OpenedModel } from '../../load';
import { planLowestFraction } from '../../plan/auto';
import type { PruningPlan } from '../../plan/plan';
import { scoreGroups } from '../../scoring';
import { applyPlan } from '../../surgery/apply-plan';
import { mobilenetV2 } from '../../testing/bench-models';
import { loadLayersModelFromArtifacts } from '../tf-artifacts';
import { writeOnnx, type OnnxProvenance } from './export';
import { onnxOriginOf } from './origin';
import { decodeModel, encodeModel, floatTensor, readTensor, toNumber } from './proto';

const REPO = new URL('../__fixtures__/onnx/', import.meta.url);
const SHARED = new URL('../../../../../shared/fixtures/onnx/', import.meta.url);

/** A fixture's path: the repository's copy, else the shared folder's (MobileNetV2), else undefined. */
function fixture(name: string): URL | undefined {
  for (const dir of [REPO, SHARED]) {
    const u = new URL(name, dir);
    if (existsSync(u)) return u;
  }
  return undefined;
}

function f32(u: URL): Float32Array {
  const b = readFileSync(u);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function onnxFile(name: string): InputFile {
  return { path: `${name}.onnx`, bytes: new Uint8Array(readFileSync(fixture(`${name}.onnx`)!)) };
}

const MODELS = [
  { name: 'mnist_cnn_trained', input: 'input_1x1x28x28_rng0', shape: [1, 1, 28, 28] },
  { name: 'mnist_cnn_trained_bn', input: 'input_1x1x28x28_rng0', shape: [1, 1, 28, 28] },
  { name: 'squeezenet1_1', input: 'input_1x3x224x224_rng0', shape: [1, 3, 224, 224] },
  { name: 'shufflenet_v2_x0_5', input: 'input_1x3x224x224_rng0', shape: [1, 3, 224, 224] },
  { name: 'mobilenet_v2', input: 'input_1x3x224x224_rng0', shape: [1, 3, 224, 224] },
];

const missing = MODELS.filter((m) => !fixture(`${m.name}.onnx`)).map((m) => m.name);
if (missing.length > 0) {
  console.warn(
    `ONNX tests SKIPPED for ${missing.join(', ')}: not in src/core/io/__fixtures__/onnx and no ../shared/fixtures/onnx beside the repository.`,
  );
}

async function ortRun(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', x, shape) };
    const out = await session.run(feeds);
    return Float32Array.from(out[session.outputNames[0]!]!.data as Float32Array);
  } finally {
    await session.release();
  }
}

/** tfjs prediction of artifacts on an NCHW input (transposed to the imported model's NHWC). */
async function tfjsRun(a: ModelArtifactsData, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const model = await loadLayersModelFromArtifacts(a);
  try {
    const y = tf.tidy(() => model.predict(tf.tensor(x, shape).transpose([0, 2, 3, 1])) as tf.Tensor);
    const v = (await y.data()) as Float32Array;
    y.dispose();
    return v;
  } finally {
    model.dispose();
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * The oracle (keras-surgeon's): the ORIGINAL ONNX file with every removed channel's consumer
 * weights zeroed, edited here directly on its initializers (conv input axis 1; Gemm columns in
 * PyTorch's c*h*w + k order), independently of the writer.
 */
function zeroConsumers(file: InputFile, opened: OpenedModel, plan: PruningPlan): Uint8Array {
  const model = decodeModel(file);
  const origin = onnxOriginOf(opened.artifacts)!;
  const inits = new Map((model.graph!.initializer ?? []).map((t) => [t.name!, t]));
  const byLayer = new Map(opened.ir.layers.map((l) => [l.name, l]));
  for (const [producer, channels] of Object.entries(plan.remove)) {
    const g = opened.graph.groups[opened.graph.groupByProducer[producer]!]!;
    for (const m of g.members.filter((x) => x.role === 'consumer')) {
      const wname = `${m.layer}/kernel`;
      const link = origin.weights[wname]!;
      const t = inits.get(link.tensor)!;
      const v = readTensor(t);
      const idx = memberIndices(g, m, channels);
      const dims = v.dims;
      if (link.layout === 'oihw') {
        const [M, C, kh, kw] = dims as [number, number, number, number];
        for (let o = 0; o < M; o++)
          for (const c of idx) for (let k = 0; k < kh * kw; k++) v.values[(o * C + c) * kh * kw + k] = 0;
      } else if (link.layout === 'gemm-t') {
        const [N, K] = dims as [number, number];
        const hw = link.flatten ? link.flatten.h * link.flatten.w : 1;
        const C = K / hw;
        const layer = byLayer.get(m.layer)!;
        expect(layer.inputShape[layer.inputShape.length - 1]).toBe(K);
        for (const r of idx) {
          const col = (r % C) * hw + Math.floor(r / C);
          for (let n = 0; n < N; n++) v.values[n * K + col] = 0;
        }
      } else throw new Error(`oracle: layout ${link.layout}`);
      const replaced = floatTensor(t.name!, dims, Float32Array.from(v.values));
      inits.set(t.name!, replaced);
    }
  }
  model.graph!.initializer = (model.graph!.initializer ?? []).map((t) => inits.get(t.name!)!);
  return encodeModel(model);
}

describe('ONNX import reproduces PyTorch', () => {
  for (const m of MODELS) {
    it.skipIf(!fixture(`${m.name}.onnx`))(
      `${m.name}: the reference output within 1e-4 (tfjs, NHWC)`,
      async () => {
        const opened = await loadModel([onnxFile(m.name)]);
        expect(opened.ir.origin).toEqual({ format: 'onnx', inputLayout: 'NCHW' });
        expect(opened.warnings).toEqual([]);
        const x = f32(fixture(`${m.input}.f32.bin`)!);
        const want = f32(fixture(`${m.name}.output.f32.bin`)!);
        const got = await tfjsRun(opened.artifacts, x, m.shape);
        expect(maxDiff(got, want)).toBeLessThan(1e-4);
      },
    );
  }
});

describe('pruned ONNX, run by onnxruntime', () => {
  for (const name of ['mnist_cnn_trained_bn', 'mnist_cnn_trained', 'squeezenet1_1', 'mobilenet_v2']) {
    const m = MODELS.find((x) => x.name === name)!;
    it.skipIf(!fixture(`${name}.onnx`))(
      `${name}: equals the original with removed consumers zeroed, and PruneLab's tfjs prediction, within 1e-4`,
      async () => {
        const file = onnxFile(name);
        const opened = await loadModel([file]);
        const scores = scoreGroups(opened.ir, opened.artifacts, opened.graph, 'l1');
        const plan = planLowestFraction(opened.graph, scores, 0.3);
        expect(Object.keys(plan.remove).length).toBeGreaterThan(0);
        const { artifacts: pruned } = applyPlan(opened.artifacts, plan, opened.ir, opened.graph);
        const [out, sidecar] = writeOnnx([file], pruned);
        expect(out!.path).toBe(`${name}.onnx`);
        expect(sidecar!.path).toBe(`${name}.prunelab.json`);

        // The user's own graph: same nodes, names, attributes, opsets, inputs and outputs.
        const before = decodeModel(file);
        const after = decodeModel(out!);
        expect(after.graph!.node!.map((n) => [n.name, n.opType, n.input!.join(), n.output!.join()])).toEqual(
          before
            .graph!.node!.map((n) => [n.name, n.opType, n.input!.join(), n.output!.join()])
            .map((row, i) => {
              // An Identity whose shared initializer the plan split reads a copy (see export.ts).
              const n = after.graph!.node![i]!;
              return n.opType === 'Identity' && n.input![0]!.endsWith('.prunelab')
                ? [row[0], row[1], n.input![0], row[3]]
                : row;
            }),
        );
        // Attributes too, but a depthwise Conv's group, which is its channel count.
        const attrs = (mp: typeof before) =>
          mp.graph!.node!.map((n) =>
            n.attribute!.filter((a) => !(n.opType === 'Conv' && a.name === 'group' && toNumber(a.i) !== 1)),
          );
        expect(attrs(after)).toEqual(attrs(before));
        expect(after.opsetImport).toEqual(before.opsetImport);
        expect(after.graph!.input).toEqual(before.graph!.input);
        expect(after.graph!.output).toEqual(before.graph!.output);
        const size = (mp: typeof before) =>
          (mp.graph!.initializer ?? []).reduce((n, t) => n + readTensor(t).values.length, 0);
        expect(size(after)).toBeLessThan(size(before));

        const x = f32(fixture(`${m.input}.f32.bin`)!);
        const pruneRun = await ortRun(out!.bytes, x, m.shape);
        const oracle = await ortRun(zeroConsumers(file, opened, plan), x, m.shape);
        expect(maxDiff(pruneRun, oracle)).toBeLessThan(1e-4);
        const ours = await tfjsRun(pruned, x, m.shape);
        expect(maxDiff(pruneRun, ours)).toBeLessThan(1e-4);

        // Provenance: kept indices per initializer, in the file and the sidecar alike.
        const prov = JSON.parse(new TextDecoder().decode(sidecar!.bytes)) as OnnxProvenance;
        const meta = after.metadataProps.find((p) => p.key === 'prunelab')!.value!;
        expect(JSON.parse(meta)).toEqual(prov);
        for (const [tensor, rec] of Object.entries(prov.initializers)) {
          const t = (after.graph!.initializer ?? []).find((i) => i.name === tensor);
          if (!t) continue; // an Identity output (state_dict key of a shared tensor)
          const dims = readTensor(t).dims;
          rec.kept.forEach((k, axis) =>
            expect(dims[axis], `${tensor} axis ${axis}`).toBe(k ? k.length : rec.dims[axis]),
          );
        }
      },
      120_000,
    );
  }

  it('an empty plan writes back the same numbers (only initializers touched)', async () => {
    const file = onnxFile('squeezenet1_1');
    const opened = await loadModel([file]);
    const { artifacts } = applyPlan(opened.artifacts, { version: 1, remove: {} }, opened.ir, opened.graph);
    const [out] = writeOnnx([file], artifacts);
    const a = decodeModel(file).graph!.initializer!;
    const b = decodeModel(out!).graph!.initializer!;
    expect(b.map((t) => t.name)).toEqual(a.map((t) => t.name));
    a.forEach((t, i) =>
      expect(Array.from(readTensor(b[i]!).values)).toEqual(Array.from(readTensor(t).values)),
    );
  });
});

/** Group structure by kind: how many groups, prunable, coupled (several producers), holding a depthwise conv, reading a concat. */
function groupKinds(graph: ChannelGraph, depthwise: (layer: string) => boolean) {
  const groups = graph.groups;
  return {
    groups: groups.length,
    prunable: groups.filter((g) => g.prunable).length,
    coupled: groups.filter((g) => g.producers.length > 1).length,
    coupledSizes: groups
      .filter((g) => g.producers.length > 1)
      .map((g) => g.producers.length)
      .sort((a, b) => a - b),
    withDepthwise: groups.filter((g) => g.members.some((m) => depthwise(m.layer))).length,
    atOffset: groups.filter((g) => g.members.some((m) => (m.offset ?? 0) > 0)).length,
  };
}

function squeezenetKeras(): tf.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: [224, 224, 3] });
  let x = L.conv2d({ filters: 64, kernelSize: 3, strides: 2, activation: 'relu' }).apply(
    input,
  ) as tf.SymbolicTensor;
  const pool = (t: tf.SymbolicTensor) =>
    L.maxPooling2d({ poolSize: 3, strides: 2 }).apply(t) as tf.SymbolicTensor;
  const fire = (t: tf.SymbolicTensor, s: number, e: number) => {
    const sq = L.conv2d({ filters: s, kernelSize: 1, activation: 'relu' }).apply(t) as tf.SymbolicTensor;
    const a = L.conv2d({ filters: e, kernelSize: 1, activation: 'relu' }).apply(sq) as tf.SymbolicTensor;
    const b = L.conv2d({ filters: e, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(
      sq,
    ) as tf.SymbolicTensor;
    return L.concatenate().apply([a, b]) as tf.SymbolicTensor;
  };
  x = pool(x);
  x = fire(fire(x, 16, 64), 16, 64);
  x = pool(x);
  x = fire(fire(x, 32, 128), 32, 128);
  x = pool(x);
  x = fire(fire(x, 48, 192), 48, 192);
  x = fire(fire(x, 64, 256), 64, 256);
  x = L.conv2d({ filters: 1000, kernelSize: 1, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  const out = L.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

async function kerasGraph(
  model: tf.LayersModel,
): Promise<{ graph: ChannelGraph; classes: Map<string, string> }> {
  const { artifactsFromLayersModel } = await import('../tf-artifacts');
  const a = await artifactsFromLayersModel(model);
  model.dispose();
  const ir = buildModelIR(a);
  return { graph: buildChannelGraph(ir), classes: new Map(ir.layers.map((l) => [l.name, l.className])) };
}

describe('coupled groups match the Keras/TF.js equivalents', () => {
  it.skipIf(!fixture('mobilenet_v2.onnx'))(
    'MobileNetV2 (torchvision) vs Keras Applications MobileNetV2',
    async () => {
      const onnxModel = await loadModel([onnxFile('mobilenet_v2')]);
      const classes = new Map(onnxModel.ir.layers.map((l) => [l.name, l.className]));
      const ours = groupKinds(onnxModel.graph, (l) => classes.get(l) === 'DepthwiseConv2D');
      const keras = await kerasGraph(mobilenetV2(224, 1000));
      const theirs = groupKinds(keras.graph, (l) => keras.classes.get(l) === 'DepthwiseConv2D');
      expect(ours).toEqual(theirs);
      expect(ours.coupledSizes).toEqual([2, 3, 3, 3, 4]); // residual stages of 2, 3, 3, 3 and 4 blocks
    },
  );

  it('SqueezeNet 1.1 (torchvision) vs the same Fire modules in tfjs layers', async () => {
    const onnxModel = await loadModel([onnxFile('squeezenet1_1')]);
    const ours = groupKinds(onnxModel.graph, () => false);
    const keras = await kerasGraph(squeezenetKeras());
    expect(ours).toEqual(groupKinds(keras.graph, () => false));
    expect(ours).toMatchObject({ groups: 26, prunable: 25, coupled: 0, atOffset: 8 });
  });
});

describe('ShuffleNetV2: channel shuffle and split', () => {
  it('opens, runs, and freezes every group the shuffle or split touches, naming the ONNX op and node', async () => {
    const opened = await loadModel([onnxFile('shufflenet_v2_x0_5')]);
    const frozen = opened.graph.groups.filter((g) => !g.prunable);
    const prunable = opened.graph.groups.filter((g) => g.prunable);
    // Every unit's branch outputs reach a shuffle; the first 1x1 conv of each branch2 (and the stem) stay free.
    expect(prunable.length).toBeGreaterThan(10);
    const named = frozen.filter((g) =>
      /\(ONNX (Reshape|Transpose|Slice) node '\/stage\d\/stage\d\.\d+\/(Reshape|Transpose|Slice)(_\d+)?'\)/.test(
        g.reason ?? '',
      ),
    );
    // All frozen groups but the classifier's are frozen by a shuffle or a split, named.
    expect(named.length).toBe(frozen.length - 1);
    expect(frozen.find((g) => !named.includes(g))?.reason).toMatch(/model's output/);
    // A shuffle's output is never a prunable group member.
    for (const g of prunable)
      for (const m of g.members)
        expect(opened.ir.layers.find((l) => l.name === m.layer)?.origin?.op).not.toBe('Transpose');
  });
});
