/**
 * Test-only helpers: random small CNNs built with the tfjs layers API (Sequential or Functional
 * chains), seeded random weights, and the independent facts the oracle needs (which layer consumes
 * each producer's channels, through which depthwise multipliers and Flatten). Imported by tests only.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import { artifactsFromLayersModel } from '../io/tf-artifacts';

export interface BnSpec {
  scale: boolean;
  center: boolean;
}

export interface BlockSpec {
  kind: 'conv' | 'separable' | 'transpose';
  filters: number;
  kernel: number;
  stride: 1 | 2;
  padding: 'same' | 'valid';
  bn: BnSpec | null;
  act: 'none' | 'relu' | 'leaky' | 'prelu' | 'elu' | 'activation';
  depthwise: { kernel: number; multiplier: number } | null;
  pool: 'none' | 'max' | 'avg';
  dropout: boolean;
  zeroPad: boolean;
}

export interface HiddenSpec {
  units: number;
  bn: BnSpec | null;
  relu: boolean;
}

export interface CnnSpec {
  dims: 1 | 2;
  /** Without batch: `[len, c]` or `[h, w, c]`. */
  input: number[];
  functional: boolean;
  blocks: BlockSpec[];
  head: 'flatten' | 'gap' | 'gmp';
  hidden: HiddenSpec[];
  outUnits: number;
  outSoftmax: boolean;
  seed: number;
}

/** Where a producer's channels are read, and how they are laid out there (independent of core/graph). */
export interface ConsumerLink {
  producer: string;
  /** Output channels of the producer. */
  size: number;
  consumer: string;
  /** The consumer's weight and axis that read the channels (tfjs layouts). */
  weight: string;
  axis: number;
  /** Channel g sits at `g*multiplier + j + size*multiplier*k` on that axis. */
  multiplier: number;
  spatial: number;
  /** Channel-wise layers between, with per-channel weights (BN, PReLU, depthwise). */
  between: string[];
}

export interface BuiltCnn {
  model: tf.LayersModel;
  /** Prunable producers, in order, each with its consumer. */
  links: ConsumerLink[];
  /** The producer of the model's output (never prunable). */
  outputProducer: string;
  inputShape: number[];
}

const bnArb: fc.Arbitrary<BnSpec | null> = fc.option(
  fc.record({ scale: fc.boolean(), center: fc.boolean() }),
  {
    nil: null,
  },
);

/** fast-check arbitrary for a small random CNN spec. */
export function cnnSpecArb(): fc.Arbitrary<CnnSpec> {
  const block = fc.record({
    kind: fc.constantFrom<BlockSpec['kind']>('conv', 'conv', 'conv', 'separable', 'transpose'),
    filters: fc.integer({ min: 2, max: 6 }),
    kernel: fc.integer({ min: 1, max: 3 }),
    stride: fc.constantFrom<1 | 2>(1, 2),
    padding: fc.constantFrom<'same' | 'valid'>('same', 'valid'),
    bn: bnArb,
    act: fc.constantFrom<BlockSpec['act']>('none', 'relu', 'leaky', 'prelu', 'elu', 'activation'),
    depthwise: fc.option(
      fc.record({ kernel: fc.integer({ min: 1, max: 3 }), multiplier: fc.integer({ min: 1, max: 2 }) }),
      { nil: null, freq: 3 },
    ),
    pool: fc.constantFrom<BlockSpec['pool']>('none', 'none', 'max', 'avg'),
    dropout: fc.boolean(),
    zeroPad: fc.boolean(),
  });
  return fc
    .record({
      dims: fc.constantFrom<1 | 2>(2, 2, 2, 1),
      size: fc.integer({ min: 4, max: 9 }),
      channels: fc.integer({ min: 1, max: 3 }),
      functional: fc.boolean(),
      blocks: fc.array(block, { minLength: 1, maxLength: 3 }),
      head: fc.constantFrom<CnnSpec['head']>('flatten', 'gap', 'gmp'),
      hidden: fc.array(fc.record({ units: fc.integer({ min: 2, max: 6 }), bn: bnArb, relu: fc.boolean() }), {
        maxLength: 2,
      }),
      outUnits: fc.integer({ min: 2, max: 4 }),
      outSoftmax: fc.boolean(),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
    })
    .map(({ size, channels, ...r }) => ({
      ...r,
      input: r.dims === 1 ? [size + 3, channels] : [size, size, channels],
    }));
}

/** A small deterministic PRNG (mulberry32), so a failing case replays from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function convOut(n: number, k: number, stride: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(n / stride) : Math.ceil((n - k + 1) / stride);
}

/**
 * Builds the tfjs model for a spec (repairing choices that would shrink a dimension to nothing) and
 * records, independently of core/graph, which weight axis consumes each producer's channels.
 */
export function buildCnn(spec: CnnSpec): BuiltCnn {
  const L = tf.layers;
  // Factories, so the first layer of a Sequential can be given the input shape (batch_input_shape).
  type Make = (first: { inputShape?: number[] }) => tf.layers.Layer;
  const makers: Make[] = [];
  const add = (make: Make) => makers.push(make);
  const links: ConsumerLink[] = [];
  let spatial = spec.input.slice(0, -1);
  let pending: Omit<ConsumerLink, 'consumer' | 'weight' | 'axis'> | null = null;
  const is1d = spec.dims === 1;

  const consume = (name: string, weight: string, axis: number) => {
    if (pending) links.push({ ...pending, consumer: name, weight, axis });
  };
  const produce = (name: string, size: number) => {
    pending = { producer: name, size, multiplier: 1, spatial: 1, between: [] };
  };
  const addBn = (name: string, bn: BnSpec) => {
    add((f) => L.batchNormalization({ ...f, name, scale: bn.scale, center: bn.center }));
    pending?.between.push(name);
  };

  spec.blocks.forEach((b, i) => {
    const kind = is1d ? 'conv' : b.kind;
    if (b.zeroPad && !is1d) {
      add((f) => L.zeroPadding2d({ ...f, name: `zp${i}`, padding: 1 }));
      spatial = spatial.map((d) => d + 2);
    }
    const min = Math.min(...spatial);
    const name = `c${i}`;
    if (kind === 'transpose') {
      const padding = b.padding;
      add((f) =>
        L.conv2dTranspose({ ...f, name, filters: b.filters, kernelSize: b.kernel, strides: 1, padding }),
      );
      consume(name, 'kernel', 3);
      spatial = spatial.map((d) => (padding === 'same' ? d : d + Math.max(b.kernel - 1, 0)));
    } else {
      const padding = b.padding === 'valid' && min >= b.kernel ? 'valid' : 'same';
      const args = { name, filters: b.filters, kernelSize: b.kernel, strides: b.stride, padding } as const;
      if (kind === 'separable') {
        // depthMultiplier stays 1: tfjs 4.22's SeparableConv getConfig() drops depth_multiplier, so a
        // saved model with m > 1 cannot be reloaded (by tfjs either). Multipliers are covered by DepthwiseConv2D.
        add((f) => L.separableConv2d({ ...f, ...args }));
        consume(name, 'depthwise_kernel', 2);
      } else {
        add((f) => (is1d ? L.conv1d({ ...f, ...args }) : L.conv2d({ ...f, ...args })));
        consume(name, 'kernel', is1d ? 1 : 2);
      }
      spatial = spatial.map((d) => convOut(d, b.kernel, b.stride, padding));
    }
    produce(name, b.filters);
    if (b.bn) addBn(`bn${i}`, b.bn);
    if (b.act === 'relu') add(() => L.reLU({ name: `act${i}` }));
    if (b.act === 'leaky') add(() => L.leakyReLU({ name: `act${i}`, alpha: 0.2 }));
    if (b.act === 'elu') add(() => L.elu({ name: `act${i}` }));
    if (b.act === 'activation') add(() => L.activation({ name: `act${i}`, activation: 'tanh' }));
    if (b.act === 'prelu') {
      // Per-channel alpha ([1,1,C]), per-position alpha ([h,w,C]), or one alpha shared over channels.
      const sharedAxes = is1d ? [1] : [[1, 2], undefined, [3]][i % 3];
      add(() => L.prelu({ name: `act${i}`, ...(sharedAxes ? { sharedAxes } : {}) }));
      pending!.between.push(`act${i}`);
    }
    if (b.depthwise && !is1d) {
      const dk = Math.min(b.depthwise.kernel, ...spatial);
      const depthMultiplier = b.depthwise.multiplier;
      add(() => L.depthwiseConv2d({ name: `dw${i}`, kernelSize: dk, depthMultiplier, padding: 'valid' }));
      pending!.between.push(`dw${i}`);
      pending!.multiplier *= b.depthwise.multiplier;
      spatial = spatial.map((d) => d - dk + 1);
    }
    if (b.pool !== 'none' && Math.min(...spatial) >= 2) {
      const pool =
        b.pool === 'max'
          ? is1d
            ? L.maxPooling1d
            : L.maxPooling2d
          : is1d
            ? L.averagePooling1d
            : L.averagePooling2d;
      add(() => pool({ name: `pool${i}`, poolSize: 2 }));
      spatial = spatial.map((d) => Math.floor(d / 2));
    }
    if (b.dropout) add(() => L.dropout({ name: `drop${i}`, rate: 0.5 }));
  });

  if (spec.head === 'flatten') {
    add(() => L.flatten({ name: 'flatten' }));
    pending!.spatial = spatial.reduce((p, d) => p * d, 1);
  } else if (spec.head === 'gap') {
    add(() =>
      is1d ? L.globalAveragePooling1d({ name: 'gpool' }) : L.globalAveragePooling2d({ name: 'gpool' }),
    );
  } else {
    add(() => (is1d ? L.globalMaxPooling1d({ name: 'gpool' }) : L.globalMaxPooling2d({ name: 'gpool' })));
  }
  spec.hidden.forEach((h, i) => {
    const name = `d${i}`;
    add(() => L.dense({ name, units: h.units }));
    consume(name, 'kernel', 0);
    produce(name, h.units);
    if (h.bn) addBn(`dbn${i}`, h.bn);
    if (h.relu) add(() => L.reLU({ name: `dact${i}` }));
  });
  const activation = spec.outSoftmax ? 'softmax' : 'linear';
  add(() => L.dense({ name: 'logits', units: spec.outUnits, activation }));
  consume('logits', 'kernel', 0);

  let model: tf.LayersModel;
  if (spec.functional) {
    const input = tf.input({ shape: spec.input, name: 'image' });
    let x: tf.SymbolicTensor = input;
    for (const make of makers) x = make({}).apply(x) as tf.SymbolicTensor;
    model = tf.model({ inputs: input, outputs: x, name: 'random_functional' });
  } else {
    const seq = tf.sequential({ name: 'random_sequential' });
    makers.forEach((make, i) => seq.add(make(i === 0 ? { inputShape: spec.input } : {})));
    model = seq;
  }
  return { model, links, outputProducer: 'logits', inputShape: spec.input };
}

/** New artifacts with seeded random weights (BN variances and gammas kept positive). */
export function randomizeWeights(a: ModelArtifactsData, seed: number): ModelArtifactsData {
  const rand = mulberry32(seed);
  const weights: WeightTensor[] = a.weights.map((w) => {
    const role = w.name.split('/').pop() ?? '';
    const positive = role === 'moving_variance' || role === 'gamma';
    const values = Float32Array.from(w.values, () => (positive ? 0.5 + rand() : (rand() * 2 - 1) * 0.6));
    return { ...w, shape: [...w.shape], values };
  });
  return { ...a, weights };
}

/** Builds the spec's model, snapshots it with random weights, and disposes the live model. */
export async function randomCnnArtifacts(
  spec: CnnSpec,
): Promise<{ artifacts: ModelArtifactsData; built: BuiltCnn }> {
  const built = buildCnn(spec);
  try {
    const raw = await artifactsFromLayersModel(built.model);
    return { artifacts: randomizeWeights(raw, spec.seed), built };
  } finally {
    built.model.dispose();
  }
}

/** Deep snapshot of artifacts (typed arrays copied), for "input unchanged" checks. */
export function snapshotArtifacts(a: ModelArtifactsData): ModelArtifactsData {
  return structuredClone(a);
}
