/**
 * Test-only: random small DAG CNNs of the supported layers, built with the tfjs layers API. A spec
 * is a list of operations on a growing pool of tensors (convolutions, depthwise with multiplier 1 or
 * 2, separable and transposed convolutions, BN, activations, pooling, elementwise merges of tensors of
 * one shape, broadcast gates, concatenations), so fast-check can shrink a failing graph. Merges pick
 * partners of the same shape and otherwise make one with a 1x1 convolution: that creates residual
 * stages, merges with the model input, and merges of differently-arranged concatenations alike.
 * Coupling facts come from `channel-oracle.ts`, which never looks at core/graph.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';

export type DagOp =
  | { kind: 'conv'; src: number; filters: number; kernel: 1 | 3; stride: 1 | 2; bn: boolean; act: boolean }
  | { kind: 'separable' | 'transpose'; src: number; filters: number }
  | { kind: 'depthwise'; src: number; multiplier: 1 | 2; bn: boolean }
  | {
      kind: 'merge';
      op: 'add' | 'multiply' | 'average' | 'maximum' | 'minimum';
      src: number;
      partner: number;
    }
  | { kind: 'gate'; src: number }
  | { kind: 'concat'; src: number; partners: number[] }
  | { kind: 'pool'; src: number; max: boolean };

export interface DagSpec {
  /** Without batch: `[h, w, c]`. */
  input: number[];
  ops: DagOp[];
  head: 'gap' | 'flatten';
  hidden: number;
  outUnits: number;
  seed: number;
}

/** A pool index counted back from the newest tensor, mostly recent ones (so chains and residual stages grow). */
const src = fc.oneof(
  { weight: 3, arbitrary: fc.nat({ max: 2 }) },
  { weight: 1, arbitrary: fc.nat({ max: 40 }) },
);

/** fast-check arbitrary for a random DAG spec. */
export function dagSpecArb(): fc.Arbitrary<DagSpec> {
  const op: fc.Arbitrary<DagOp> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('conv' as const),
        src,
        filters: fc.integer({ min: 1, max: 5 }),
        kernel: fc.constantFrom<1 | 3>(1, 3),
        stride: fc.constantFrom<1 | 2>(1, 1, 1, 2),
        bn: fc.boolean(),
        act: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constantFrom('separable' as const, 'transpose' as const),
        src,
        filters: fc.integer({ min: 1, max: 4 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('depthwise' as const),
        src,
        multiplier: fc.constantFrom<1 | 2>(1, 2),
        bn: fc.boolean(),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('merge' as const),
        op: fc.constantFrom(
          'add' as const,
          'add' as const,
          'multiply' as const,
          'average' as const,
          'maximum' as const,
          'minimum' as const,
        ),
        src,
        partner: src,
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('gate' as const), src }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('concat' as const),
        src,
        partners: fc.array(src, { minLength: 1, maxLength: 2 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pool' as const), src, max: fc.boolean() }) },
  );
  return fc.record({
    input: fc
      .tuple(fc.integer({ min: 3, max: 6 }), fc.integer({ min: 1, max: 3 }))
      .map(([s, c]) => [s, s, c]),
    ops: fc.array(op, { minLength: 1, maxLength: 12 }),
    head: fc.constantFrom<'gap' | 'flatten'>('gap', 'flatten'),
    hidden: fc.integer({ min: 0, max: 4 }),
    outUnits: fc.integer({ min: 2, max: 3 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  });
}

/** Builds the spec's model. The last tensor of the pool feeds the head; unused branches are not part of the model. */
export function buildDag(spec: DagSpec): tf.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: spec.input, name: 'image' });
  const pool: tf.SymbolicTensor[] = [input];
  let n = 0;
  const name = (k: string) => `${k}${n++}`;
  const apply = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    l.apply(x) as tf.SymbolicTensor;
  const pick = (i: number) => pool[pool.length - 1 - (i % pool.length)]!;
  const sameSpatial = (a: tf.SymbolicTensor, b: tf.SymbolicTensor) =>
    a.shape[1] === b.shape[1] && a.shape[2] === b.shape[2];

  for (const op of spec.ops) {
    const x = pick(op.src);
    let y: tf.SymbolicTensor;
    switch (op.kind) {
      case 'conv': {
        const stride = op.stride === 2 && (x.shape[1] ?? 0) >= 4 ? 2 : 1;
        y = apply(
          L.conv2d({
            name: name('conv'),
            filters: op.filters,
            kernelSize: op.kernel,
            strides: stride,
            padding: 'same',
          }),
          x,
        );
        if (op.bn) y = apply(L.batchNormalization({ name: name('bn') }), y);
        if (op.act) y = apply(L.reLU({ name: name('relu'), maxValue: 6 }), y);
        break;
      }
      case 'separable':
        y = apply(
          L.separableConv2d({ name: name('sep'), filters: op.filters, kernelSize: 3, padding: 'same' }),
          x,
        );
        break;
      case 'transpose':
        y = apply(
          L.conv2dTranspose({ name: name('tconv'), filters: op.filters, kernelSize: 3, padding: 'same' }),
          x,
        );
        break;
      case 'depthwise':
        y = apply(
          L.depthwiseConv2d({
            name: name('dw'),
            kernelSize: 3,
            padding: 'same',
            depthMultiplier: op.multiplier,
          }),
          x,
        );
        if (op.bn) y = apply(L.batchNormalization({ name: name('bn') }), y);
        break;
      case 'merge': {
        if (x === input && op.partner % 4 !== 0) continue;
        const shape = JSON.stringify(x.shape);
        // The model input joins a merge now and then (that freezes the group), not most of the time.
        const alike = pool.filter(
          (t) => t !== x && JSON.stringify(t.shape) === shape && (t !== input || op.partner % 4 === 0),
        );
        let partner = alike.length > 0 ? alike[op.partner % alike.length]! : undefined;
        if (!partner) {
          const from = pool.filter((t) => sameSpatial(t, x));
          const base = from[op.partner % from.length]!;
          // (base may be x itself: the projection is a new tensor.)
          partner = apply(L.conv2d({ name: name('proj'), filters: x.shape[3]!, kernelSize: 1 }), base);
        }
        const make = {
          add: L.add,
          multiply: L.multiply,
          average: L.average,
          maximum: L.maximum,
          minimum: L.minimum,
        }[op.op];
        y = apply(make({ name: name(op.op) }), [x, partner]);
        break;
      }
      case 'gate': {
        // A 1-channel gate broadcast over x's channels: not coupled (Torch-Pruning#510).
        const g = apply(
          L.conv2d({ name: name('gate'), filters: 1, kernelSize: 1, activation: 'sigmoid' }),
          x,
        );
        y = apply(L.multiply({ name: name('gated') }), [x, g]);
        break;
      }
      case 'concat': {
        // Distinct inputs: tfjs 4.22 disposes a tensor given twice to one layer too early.
        const from = pool.filter((t) => t !== x && sameSpatial(t, x));
        const others = [
          ...new Set(op.partners.map((p) => from[p % from.length]).filter((t) => t !== undefined)),
        ];
        if (others.length === 0)
          others.push(apply(L.conv2d({ name: name('proj'), filters: 2, kernelSize: 1 }), x));
        y = apply(L.concatenate({ name: name('cat') }), [x, ...others]);
        break;
      }
      case 'pool':
        if ((x.shape[1] ?? 0) < 2) continue;
        y = apply(
          (op.max ? L.maxPooling2d : L.averagePooling2d)({
            name: name('pool'),
            poolSize: 2,
            padding: 'same',
          }),
          x,
        );
        break;
    }
    pool.push(y);
  }
  let x = pool[pool.length - 1]!;
  x = apply(
    spec.head === 'gap' ? L.globalAveragePooling2d({ name: 'gap' }) : L.flatten({ name: 'flatten' }),
    x,
  );
  if (spec.hidden > 0) x = apply(L.dense({ name: 'hidden', units: spec.hidden, activation: 'relu' }), x);
  const out = apply(L.dense({ name: 'logits', units: spec.outUnits }), x);
  return tf.model({ inputs: input, outputs: out, name: 'random_dag' });
}
