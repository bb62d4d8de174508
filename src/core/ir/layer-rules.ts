/**
 * The one table that says how every Keras layer class treats channels (behaviour by class, never by
 * layer name: Torch-Pruning `pruner/function.py`), one row per class. Everything downstream reads it:
 * the IR builder (shape inference, expected weight shapes), the Keras readers and writers (variable
 * order, constructor arguments), the channel graph (who owns, passes or reads channels), the cost
 * model (params and FLOPs as functions of channel counts), scoring (which axis is a filter, which
 * layers act value by value) and surgery (which axis of which weight to slice). It lives in ir/
 * because the IR builder needs it; `graph/layer-rules.ts` adds what only the channel graph uses.
 * Importers of other formats (ONNX) map their ops onto these classes, so they share every row.
 *
 * Conventions (channels-last everywhere, batch first in every `Shape`):
 * - Conv1D/2D/3D kernel `[...k, in, out]`; Dense `[in, out]`; Conv2DTranspose `[kh, kw, out, in]`;
 *   DepthwiseConv2D `[kh, kw, in, multiplier]` (output channel `c*m + j` comes only from input `c`);
 *   SeparableConv2D depthwise `[kh, kw, in, m]` then pointwise `[1, 1, in*m, out]`.
 * - Flatten of `[h, w, C]` puts channel `c` at flat indices `c + C*k`, `k < h*w` (channels-last; not
 *   PyTorch's NCHW `c*h*w + k`).
 *
 * Example: `Conv2D(8) -> BatchNormalization -> ReLU -> MaxPooling2D -> Conv2D(16)`: the first Conv2D
 * is a `producer` of 8 channels, BN/ReLU/pool are `channelwise` (BN's four `[8]` vectors are sliced),
 * and the second Conv2D reads them on its kernel's `in` axis.
 */
import { ModelLoadError } from '../errors';
import type { Shape } from './model-ir';

/** What a layer class does to channels. */
export type ChannelBehaviour =
  /** The model's input (InputLayer). */
  | 'input'
  /** Owns its output channels (`filters`/`units`) and reads its input channels on a kernel axis. */
  | 'producer'
  /** Output channel `c` depends only on input channel `c` (DepthwiseConv2D: `c*m .. c*m+m-1`). */
  | 'channelwise'
  /** Global pooling: a `[.., C]` map becomes a `[C]` vector, channel for channel. */
  | 'reduce-to-channels'
  /** Flatten: channel `c` of `[h, w, C]` becomes features `c + C*k`. */
  | 'flatten'
  /**
   * Add, Subtract, Multiply, Average, Maximum, Minimum: channel `c` of every input and of the output
   * is one channel (a broadcast input of 1 channel excepted), so their groups are joined.
   */
  | 'elementwise'
  /** Concatenate on the channel axis: each input's channels sit at an offset (on another axis: like `elementwise`). */
  | 'concat'
  /**
   * Moves values between channels or does something PruneLab does not know (Reshape that changes the
   * channel count, a Lambda, a custom class): groups that reach it are frozen, its output is fixed.
   */
  | 'opaque';

/** How one axis of a weight relates to the layer's channels. */
export type AxisRole =
  /** A size that pruning never changes (kernel height, depth multiplier...). `null`: unknown until seen. */
  | { kind: 'fixed'; size: number | null }
  /** `factor * inChannels` (last axis of the input); input channel `c` owns entries `c*factor .. +factor-1`. */
  | { kind: 'in'; factor: number }
  /** `factor * outChannels` (last axis of the output); likewise. */
  | { kind: 'out'; factor: number };

/** A weight a layer of this class must have, e.g. Conv2D `kernel` `[kh, kw, {in}, {out}]`. */
export interface WeightSpec {
  /** The manifest name's last segment: `kernel`, `bias`, `gamma`, `moving_mean`, `depthwise_kernel`... */
  role: string;
  axes: AxisRole[];
}

/**
 * How a pass-through layer maps input channel `c` (of `C`) onto its output's last axis:
 * `c -> c*inner + j + (C*inner)*k` for `j < inner`, `k < outer`. DepthwiseConv2D has `inner = m`;
 * Flatten has `outer = h*w`; everything else `{1, 1}`.
 */
export interface ChannelMap {
  inner: number;
  outer: number;
}

/**
 * Multiply-accumulates as a function of the layer's input and output channel counts:
 * `macs = c + in*Din + out*Dout + inOut*Din*Dout`. Conv2D has only `inOut = kh*kw*Hout*Wout`.
 */
export interface Bilinear {
  c: number;
  in: number;
  out: number;
  inOut: number;
}

/** The slice of a layer that rules look at. */
export interface RuleLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
}

/** One row of the table. */
export interface LayerRule {
  behaviour: ChannelBehaviour;
  /** `later`: recognised (shapes inferred) but the channel graph cannot prune through it yet; `unknown`: a class not in the table. */
  status: 'ready' | 'later' | 'unknown';
  /** The behaviour of this layer when it depends on the config (a Reshape that keeps the channel axis is `channelwise`). */
  behaviourOf?(layer: RuleLayer, inputShape: Shape, outputShape: Shape): ChannelBehaviour;
  /** Rewrites config entries that spell out the channel count when it becomes `outChannels` (Reshape `target_shape`). */
  resizeConfig?(config: Record<string, unknown>, outChannels: number): void;
  /** Output shape (batch first) from the input shapes (one per inbound tensor). */
  outputShape(layer: RuleLayer, inputShapes: Shape[]): Shape;
  /** The weights this layer must have, in Keras' creation order. Omitted: none. */
  weights?(layer: RuleLayer, inputShape: Shape): WeightSpec[];
  /** Pass-through layers only; omitted means identity. */
  channelMap?(layer: RuleLayer, inputShape: Shape): ChannelMap;
  /** Multiply-accumulates per example; omitted means counted as 0 (see metrics/costs.ts). */
  macs?(layer: RuleLayer, inputShape: Shape, outputShape: Shape): Bilinear;
  /** A verb phrase saying why channels cannot be removed through this layer, e.g. "is a grouped convolution (groups=2)". */
  blocker?(layer: RuleLayer, inputShape: Shape, outputShape?: Shape): string | undefined;
  /** A note for the user when removing channels changes the kept ones' values (softmax over channels). */
  caveat?(layer: RuleLayer, inputShape: Shape): string | undefined;
  /** Producers: the config key holding the channel count. */
  countKey?: 'filters' | 'units';
  /** Producers: the weight whose `out` axis is scored per filter (`kernel`, or `pointwise_kernel`). */
  scoredWeight?: string;
  /** Producers: what one output channel is called (`filter` for convolutions, `unit` for Dense). */
  unit?: 'filter' | 'unit';
  /**
   * Acts on each value alone (same shape, channel c from channel c, no mixing of positions): BN,
   * ReLU, Dropout... Data-based criteria observe a producer's channels after such layers (scoring/observe.ts).
   */
  perValue?: boolean | ((layer: RuleLayer) => boolean);
  /** How Keras itself stores this class (its variables and constructor arguments); omitted: keep what the file says. */
  keras?: KerasClass;
}

/** What the Keras readers and writers need about a class (io/keras-config.ts). */
export interface KerasClass {
  /**
   * The variables the class creates, in creation order (= `layer.weights` order and the `vars/0..n`
   * order of a .keras file), named as Keras 2 / TF.js name them, e.g. BatchNormalization with
   * `scale: false` -> `['beta', 'moving_mean', 'moving_variance']`.
   */
  roles?(config: Record<string, unknown>): string[];
  /** Variables created with `trainable=False` (they come after the trainable ones in legacy .h5 order). */
  nonTrainable?: readonly string[];
  /**
   * The constructor arguments (besides `name`, `trainable`, `dtype`) both Keras 2 (tf.keras 2.x) and
   * Keras 3 accept, kept when writing a Keras file: Keras 3 raises on unknown keyword arguments
   * (`DepthwiseConv2D` with `groups`, keras#19151), and tf.keras 2 on Keras 3-only ones (`synchronized`).
   */
  args?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Config readers. Keras writes tuples as arrays, tfjs sometimes as numbers; both are accepted.

type Config = Record<string, unknown>;

function bad(layer: RuleLayer, message: string): ModelLoadError {
  return new ModelLoadError('BAD_TOPOLOGY', `Layer '${layer.name}' (${layer.className}) ${message}`, {
    layer: layer.name,
  });
}

function readNumber(layer: RuleLayer, key: string, fallback: number): number {
  const v = layer.config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return v[0];
  throw bad(layer, `has ${key} = ${JSON.stringify(v)}, which is not a number.`);
}

function readBool(layer: RuleLayer, key: string, fallback: boolean): boolean {
  const v = layer.config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  throw bad(layer, `has ${key} = ${JSON.stringify(v)}, which is not true or false.`);
}

function readString(layer: RuleLayer, key: string, fallback: string): string {
  const v = layer.config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string') return v;
  throw bad(layer, `has ${key} = ${JSON.stringify(v)}, which is not a string.`);
}

/** Reads an n-tuple: a number is repeated, an array must have length n. */
function readTuple(layer: RuleLayer, key: string, n: number, fallback: number | null): number[] {
  const v = layer.config[key];
  if ((v === undefined || v === null) && fallback !== null) return Array<number>(n).fill(fallback);
  if (typeof v === 'number' && Number.isInteger(v)) return Array<number>(n).fill(v);
  if (Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    return v as number[];
  }
  throw bad(layer, `has ${key} = ${JSON.stringify(v)}; expected ${n} integer(s).`);
}

/** Reads per-dimension (before, after) pairs: `p`, `[a, b]` (symmetric per dim) or `[[t, b], [l, r]]`. */
function readPairs(layer: RuleLayer, key: string, n: number, fallback: number): [number, number][] {
  const v = layer.config[key];
  if (v === undefined || v === null) return Array.from({ length: n }, () => [fallback, fallback]);
  if (typeof v === 'number') return Array.from({ length: n }, () => [v, v]);
  if (Array.isArray(v)) {
    if (n === 1 && v.length === 2 && v.every((x) => typeof x === 'number'))
      return [[v[0] as number, v[1] as number]];
    if (v.length === n && v.every((x) => typeof x === 'number')) return v.map((x: number) => [x, x]);
    if (
      v.length === n &&
      v.every((x) => Array.isArray(x) && x.length === 2 && x.every((y: unknown) => typeof y === 'number'))
    ) {
      return v as [number, number][];
    }
  }
  throw bad(layer, `has ${key} = ${JSON.stringify(v)}, which is not a valid ${n}-D ${key}.`);
}

function requireRank(layer: RuleLayer, shape: Shape | undefined, rank: number | 'atLeast2'): Shape {
  if (!shape) throw bad(layer, 'has no input.');
  const ok = rank === 'atLeast2' ? shape.length >= 2 : shape.length === rank;
  if (!ok) {
    const want = rank === 'atLeast2' ? 'a rank-2 or higher' : `a rank-${rank}`;
    throw bad(layer, `expects ${want} input (batch included), got ${JSON.stringify(shape)}.`);
  }
  return shape;
}

function requireChannelsLast(layer: RuleLayer): void {
  const fmt = readString(layer, 'data_format', 'channels_last');
  if (fmt !== 'channels_last') {
    throw new ModelLoadError(
      'UNSUPPORTED_LAYER',
      `Layer '${layer.name}' (${layer.className}) uses data_format '${fmt}'; PruneLab only analyses channels_last models yet.`,
      { layer: layer.name },
    );
  }
}

/** Last dimension (the channels), or `null` when unknown. */
export function lastDim(shape: Shape): number | null {
  return shape.length > 0 ? (shape[shape.length - 1] ?? null) : null;
}

function product(dims: readonly (number | null)[]): number | null {
  let p = 1;
  for (const d of dims) {
    if (d === null) return null;
    p *= d;
  }
  return p;
}

/** Product with unknown sizes counted as 1 (used for FLOPs only; documented in metrics/costs.ts). */
function productOr1(dims: readonly (number | null)[]): number {
  return dims.reduce<number>((p, d) => p * (d ?? 1), 1);
}

/** Normalises a Keras axis (negative, or counted with the batch) to an index into a batch-first shape. */
function normaliseAxis(axis: number, rank: number): number {
  return axis < 0 ? rank + axis : axis;
}

function readAxes(layer: RuleLayer, rank: number, fallback: number): number[] {
  const v = layer.config['axis'];
  const list = v === undefined || v === null ? [fallback] : Array.isArray(v) ? v : [v];
  if (!list.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    throw bad(layer, `has axis = ${JSON.stringify(v)}, which is not an integer or a list of integers.`);
  }
  const axes = (list as number[]).map((a) => normaliseAxis(a, rank));
  if (axes.some((a) => a < 1 || a >= rank)) {
    throw bad(layer, `has axis = ${JSON.stringify(v)}, outside its rank-${rank} input.`);
  }
  return axes;
}

// ---------------------------------------------------------------------------------------------
// Spatial arithmetic, as Keras conv_utils.

/** Keras `conv_output_length`: the output size of a conv or pooling window along one dimension. */
export function convOutputLength(
  length: number | null,
  kernel: number,
  padding: string,
  stride: number,
  dilation = 1,
): number | null {
  if (length === null) return null;
  const dk = kernel + (kernel - 1) * (dilation - 1);
  let out: number;
  if (padding === 'same' || padding === 'causal') out = length;
  else if (padding === 'valid') out = length - dk + 1;
  else if (padding === 'full') out = length + dk - 1;
  else return Number.NaN;
  return Math.floor((out + stride - 1) / stride);
}

/** Keras `deconv_output_length` (Conv2DTranspose), with or without `output_padding`. */
export function deconvOutputLength(
  length: number | null,
  kernel: number,
  padding: string,
  stride: number,
  outputPadding: number | null,
  dilation = 1,
): number | null {
  if (length === null) return null;
  const dk = kernel + (kernel - 1) * (dilation - 1);
  if (outputPadding === null) {
    if (padding === 'valid') return length * stride + Math.max(dk - stride, 0);
    if (padding === 'full') return length * stride - (stride + dk - 2);
    return length * stride;
  }
  const pad = padding === 'same' ? Math.floor(dk / 2) : padding === 'valid' ? 0 : dk - 1;
  return (length - 1) * stride + dk - 2 * pad + outputPadding;
}

function checkLengths(layer: RuleLayer, dims: (number | null)[]): void {
  if (dims.some((d) => d !== null && !(d > 0))) {
    throw bad(
      layer,
      `makes its input empty or has an unknown padding (output sizes ${JSON.stringify(dims)}).`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Rule builders.

const ZERO: Bilinear = { c: 0, in: 0, out: 0, inOut: 0 };

function fixed(size: number | null): AxisRole {
  return { kind: 'fixed', size };
}
const IN: AxisRole = { kind: 'in', factor: 1 };
const OUT: AxisRole = { kind: 'out', factor: 1 };

function same(_layer: RuleLayer, inputShapes: Shape[]): Shape {
  const s = inputShapes[0];
  if (!s) throw bad(_layer, 'has no input.');
  return [...s];
}

function softmaxCaveat(layer: RuleLayer): string | undefined {
  return layer.config['activation'] === 'softmax'
    ? `its softmax normalises over the channels, so removing channels changes the kept ones' values`
    : undefined;
}

/** A pass-through layer with no weights (activations, dropout, noise...). */
const PASS: LayerRule = { behaviour: 'channelwise', status: 'ready', outputShape: same };

/** Conv1D/2D/3D, `kernel [...k, in/groups, out]`, `bias [out]`. */
function convRule(n: number): LayerRule {
  const spatialOut = (layer: RuleLayer, input: Shape): (number | null)[] => {
    const k = readTuple(layer, 'kernel_size', n, null);
    const s = readTuple(layer, 'strides', n, 1);
    const d = readTuple(layer, 'dilation_rate', n, 1);
    const padding = readString(layer, 'padding', 'valid');
    return input.slice(1, 1 + n).map((len, i) => convOutputLength(len, k[i]!, padding, s[i]!, d[i]));
  };
  return {
    behaviour: 'producer',
    status: 'ready',
    countKey: 'filters',
    scoredWeight: 'kernel',
    outputShape(layer, inputShapes) {
      requireChannelsLast(layer);
      const input = requireRank(layer, inputShapes[0], n + 2);
      const dims = spatialOut(layer, input);
      checkLengths(layer, dims);
      return [input[0] ?? null, ...dims, readNumber(layer, 'filters', Number.NaN)];
    },
    weights(layer, input) {
      const k = readTuple(layer, 'kernel_size', n, null);
      const groups = readNumber(layer, 'groups', 1);
      const c = lastDim(input);
      const inAxis = groups === 1 ? IN : fixed(c === null ? null : c / groups);
      const specs: WeightSpec[] = [{ role: 'kernel', axes: [...k.map(fixed), inAxis, OUT] }];
      if (readBool(layer, 'use_bias', true)) specs.push({ role: 'bias', axes: [OUT] });
      return specs;
    },
    macs(layer, _input, output) {
      const k = readTuple(layer, 'kernel_size', n, null);
      const groups = readNumber(layer, 'groups', 1);
      return { ...ZERO, inOut: (productOr1(k) * productOr1(output.slice(1, 1 + n))) / groups };
    },
    blocker(layer) {
      const groups = readNumber(layer, 'groups', 1);
      return groups === 1 ? undefined : `is a grouped convolution (groups=${groups})`;
    },
    caveat: softmaxCaveat,
  };
}

/** Conv2DTranspose, `kernel [kh, kw, out, in]` (note: out before in), `bias [out]`. */
const conv2dTransposeRule: LayerRule = {
  behaviour: 'producer',
  status: 'ready',
  countKey: 'filters',
  scoredWeight: 'kernel',
  outputShape(layer, inputShapes) {
    requireChannelsLast(layer);
    const input = requireRank(layer, inputShapes[0], 4);
    const k = readTuple(layer, 'kernel_size', 2, null);
    const s = readTuple(layer, 'strides', 2, 1);
    const d = readTuple(layer, 'dilation_rate', 2, 1);
    const op = layer.config['output_padding'] == null ? null : readTuple(layer, 'output_padding', 2, 0);
    const padding = readString(layer, 'padding', 'valid');
    const dims = [0, 1].map((i) =>
      deconvOutputLength(input[1 + i] ?? null, k[i]!, padding, s[i]!, op ? op[i]! : null, d[i]),
    );
    checkLengths(layer, dims);
    return [input[0] ?? null, ...dims, readNumber(layer, 'filters', Number.NaN)];
  },
  weights(layer) {
    const k = readTuple(layer, 'kernel_size', 2, null);
    const specs: WeightSpec[] = [{ role: 'kernel', axes: [...k.map(fixed), OUT, IN] }];
    if (readBool(layer, 'use_bias', true)) specs.push({ role: 'bias', axes: [OUT] });
    return specs;
  },
  // Each input pixel scatters a kh*kw*out patch: MACs = kh*kw*in*out*Hin*Win.
  macs(layer, input) {
    const k = readTuple(layer, 'kernel_size', 2, null);
    return { ...ZERO, inOut: productOr1(k) * productOr1(input.slice(1, 3)) };
  },
  caveat: softmaxCaveat,
};

/** SeparableConv1D/2D: depthwise `[...k, in, m]`, pointwise `[...1, in*m, out]`, `bias [out]`. */
function separableRule(n: number): LayerRule {
  const base = convRule(n);
  return {
    ...base,
    scoredWeight: 'pointwise_kernel',
    weights(layer) {
      const k = readTuple(layer, 'kernel_size', n, null);
      const m = readNumber(layer, 'depth_multiplier', 1);
      const specs: WeightSpec[] = [
        { role: 'depthwise_kernel', axes: [...k.map(fixed), IN, fixed(m)] },
        { role: 'pointwise_kernel', axes: [...k.map(() => fixed(1)), { kind: 'in', factor: m }, OUT] },
      ];
      if (readBool(layer, 'use_bias', true)) specs.push({ role: 'bias', axes: [OUT] });
      return specs;
    },
    macs(layer, _input, output) {
      const k = readTuple(layer, 'kernel_size', n, null);
      const m = readNumber(layer, 'depth_multiplier', 1);
      const hw = productOr1(output.slice(1, 1 + n));
      return { ...ZERO, in: productOr1(k) * m * hw, inOut: m * hw };
    },
    blocker: undefined,
  };
}

/** DepthwiseConv2D: channelwise with multiplier m; `depthwise_kernel [kh, kw, in, m]`, `bias [in*m]`. */
const depthwiseRule: LayerRule = {
  behaviour: 'channelwise',
  status: 'ready',
  outputShape(layer, inputShapes) {
    requireChannelsLast(layer);
    const input = requireRank(layer, inputShapes[0], 4);
    const k = readTuple(layer, 'kernel_size', 2, null);
    const s = readTuple(layer, 'strides', 2, 1);
    const d = readTuple(layer, 'dilation_rate', 2, 1);
    const padding = readString(layer, 'padding', 'valid');
    const dims = [0, 1].map((i) => convOutputLength(input[1 + i] ?? null, k[i]!, padding, s[i]!, d[i]));
    checkLengths(layer, dims);
    const c = lastDim(input);
    return [input[0] ?? null, ...dims, c === null ? null : c * readNumber(layer, 'depth_multiplier', 1)];
  },
  weights(layer) {
    const k = readTuple(layer, 'kernel_size', 2, null);
    const m = readNumber(layer, 'depth_multiplier', 1);
    const specs: WeightSpec[] = [{ role: 'depthwise_kernel', axes: [...k.map(fixed), IN, fixed(m)] }];
    if (readBool(layer, 'use_bias', true)) specs.push({ role: 'bias', axes: [OUT] });
    return specs;
  },
  channelMap(layer) {
    return { inner: readNumber(layer, 'depth_multiplier', 1), outer: 1 };
  },
  macs(layer, _input, output) {
    const k = readTuple(layer, 'kernel_size', 2, null);
    const m = readNumber(layer, 'depth_multiplier', 1);
    return { ...ZERO, in: productOr1(k) * m * productOr1(output.slice(1, 3)) };
  },
  caveat: softmaxCaveat,
};

/** Dense on the last axis: `kernel [in, units]`, `bias [units]`. */
const denseRule: LayerRule = {
  behaviour: 'producer',
  status: 'ready',
  countKey: 'units',
  scoredWeight: 'kernel',
  outputShape(layer, inputShapes) {
    const input = requireRank(layer, inputShapes[0], 'atLeast2');
    return [...input.slice(0, -1), readNumber(layer, 'units', Number.NaN)];
  },
  weights(layer) {
    const specs: WeightSpec[] = [{ role: 'kernel', axes: [IN, OUT] }];
    if (readBool(layer, 'use_bias', true)) specs.push({ role: 'bias', axes: [OUT] });
    return specs;
  },
  // Dense on a rank-3+ input applies the kernel at every leading position.
  macs(_layer, input) {
    return { ...ZERO, inOut: productOr1(input.slice(1, -1)) };
  },
  caveat: softmaxCaveat,
};

/** Shape of per-axis weights (BN, LayerNorm): the input's sizes at `axes`; the channel axis is `in`. */
function perAxisWeight(role: string, axes: number[], input: Shape): WeightSpec {
  const channelAxis = input.length - 1;
  return { role, axes: axes.map((a) => (a === channelAxis ? IN : fixed(input[a] ?? null))) };
}

const batchNormRule: LayerRule = {
  behaviour: 'channelwise',
  status: 'ready',
  outputShape: same,
  weights(layer, input) {
    const axes = readAxes(layer, input.length, -1);
    const specs: WeightSpec[] = [];
    if (readBool(layer, 'scale', true)) specs.push(perAxisWeight('gamma', axes, input));
    if (readBool(layer, 'center', true)) specs.push(perAxisWeight('beta', axes, input));
    specs.push(perAxisWeight('moving_mean', axes, input), perAxisWeight('moving_variance', axes, input));
    return specs;
  },
};

const layerNormRule: LayerRule = {
  behaviour: 'channelwise',
  status: 'ready',
  outputShape: same,
  weights(layer, input) {
    const axes = readAxes(layer, input.length, -1);
    const specs: WeightSpec[] = [];
    if (readBool(layer, 'scale', true)) specs.push(perAxisWeight('gamma', axes, input));
    if (readBool(layer, 'center', true)) specs.push(perAxisWeight('beta', axes, input));
    return specs;
  },
  caveat(layer, input) {
    return readAxes(layer, input.length, -1).includes(input.length - 1)
      ? `it normalises over the channels, so removing channels changes the kept ones' values`
      : undefined;
  },
};

/** PReLU: `alpha` has the input's shape (no batch) with `shared_axes` (counted with the batch) set to 1. */
const preluRule: LayerRule = {
  behaviour: 'channelwise',
  status: 'ready',
  outputShape: same,
  weights(layer, input) {
    const raw = layer.config['shared_axes'];
    const shared = new Set(
      (raw == null ? [] : Array.isArray(raw) ? raw : [raw]).map((a) =>
        normaliseAxis(Number(a), input.length),
      ),
    );
    const channelAxis = input.length - 1;
    const axes = input
      .slice(1)
      .map((d, i) => (shared.has(i + 1) ? fixed(1) : i + 1 === channelAxis ? IN : fixed(d)));
    return [{ role: 'alpha', axes }];
  },
};

const activationRule: LayerRule = { ...PASS, caveat: softmaxCaveat };

const softmaxRule: LayerRule = {
  ...PASS,
  caveat(layer, input) {
    const axes = readAxes(layer, input.length, -1);
    return axes.includes(input.length - 1)
      ? `it is a softmax over the channels, so removing channels changes the kept ones' values`
      : undefined;
  },
};

function poolRule(n: number): LayerRule {
  return {
    ...PASS,
    outputShape(layer, inputShapes) {
      requireChannelsLast(layer);
      const input = requireRank(layer, inputShapes[0], n + 2);
      const pool = readTuple(layer, 'pool_size', n, 2);
      const strides = layer.config['strides'] == null ? pool : readTuple(layer, 'strides', n, null);
      const padding = readString(layer, 'padding', 'valid');
      const dims = input
        .slice(1, 1 + n)
        .map((len, i) => convOutputLength(len, pool[i]!, padding, strides[i]!));
      checkLengths(layer, dims);
      return [input[0] ?? null, ...dims, lastDim(input)];
    },
  };
}

function globalPoolRule(n: number): LayerRule {
  return {
    behaviour: 'reduce-to-channels',
    status: 'ready',
    outputShape(layer, inputShapes) {
      requireChannelsLast(layer);
      const input = requireRank(layer, inputShapes[0], n + 2);
      const keep = readBool(layer, 'keepdims', false);
      return keep
        ? [input[0] ?? null, ...Array<number>(n).fill(1), lastDim(input)]
        : [input[0] ?? null, lastDim(input)];
    },
  };
}

function paddingRule(n: number, key: 'padding' | 'cropping', sign: 1 | -1): LayerRule {
  return {
    ...PASS,
    outputShape(layer, inputShapes) {
      requireChannelsLast(layer);
      const input = requireRank(layer, inputShapes[0], n + 2);
      const pairs = readPairs(layer, key, n, sign === 1 ? 1 : 0);
      const dims = input.slice(1, 1 + n).map((len, i) => {
        const [a, b] = pairs[i]!;
        return len === null ? null : len + sign * (a + b);
      });
      checkLengths(layer, dims);
      return [input[0] ?? null, ...dims, lastDim(input)];
    },
  };
}

function upSamplingRule(n: number): LayerRule {
  return {
    ...PASS,
    outputShape(layer, inputShapes) {
      requireChannelsLast(layer);
      const input = requireRank(layer, inputShapes[0], n + 2);
      const size = readTuple(layer, 'size', n, 2);
      const dims = input.slice(1, 1 + n).map((len, i) => (len === null ? null : len * size[i]!));
      return [input[0] ?? null, ...dims, lastDim(input)];
    },
  };
}

const flattenRule: LayerRule = {
  behaviour: 'flatten',
  status: 'ready',
  outputShape(_layer, inputShapes) {
    const input = requireRank(_layer, inputShapes[0], 'atLeast2');
    return [input[0] ?? null, product(input.slice(1))];
  },
  channelMap(_layer, input) {
    return { inner: 1, outer: product(input.slice(1, -1)) ?? Number.NaN };
  },
  blocker(layer, input) {
    if (readString(layer, 'data_format', 'channels_last') !== 'channels_last') {
      return `flattens in channels_first order`;
    }
    if (product(input.slice(1, -1)) === null)
      return `flattens an input of unknown size ${JSON.stringify(input)}`;
    return undefined;
  },
};

function inputShapeOf(layer: RuleLayer): Shape | undefined {
  const c: Config = layer.config;
  const batch = c['batch_input_shape'] ?? c['batchInputShape'] ?? c['batch_shape'];
  if (Array.isArray(batch)) return batch as Shape;
  const noBatch = c['input_shape'] ?? c['inputShape'];
  if (Array.isArray(noBatch)) return [null, ...(noBatch as Shape)];
  if (typeof c['input_dim'] === 'number') return [null, c['input_dim']];
  return undefined;
}

const inputRule: LayerRule = {
  behaviour: 'input',
  status: 'ready',
  outputShape(layer) {
    const s = inputShapeOf(layer);
    if (!s || !s.every((d) => d === null || (typeof d === 'number' && d > 0))) {
      throw bad(layer, `has no valid batch_input_shape (${JSON.stringify(s ?? null)}).`);
    }
    return [...s];
  },
};

/** Numpy-style broadcast of the merge inputs (Keras `_compute_elemwise_op_output_shape`). */
const elementwiseRule: LayerRule = {
  behaviour: 'elementwise',
  status: 'ready',
  outputShape(layer, inputShapes) {
    if (inputShapes.length < 2) throw bad(layer, `needs at least 2 inputs, got ${inputShapes.length}.`);
    const rank = Math.max(...inputShapes.map((s) => s.length));
    const out: Shape = [null];
    for (let i = 1; i < rank; i++) {
      const dims = inputShapes.map((s) => s[s.length - rank + i]).filter((d) => d !== undefined && d !== 1);
      const known = [...new Set(dims.filter((d): d is number => d !== null))];
      if (known.length > 1) throw bad(layer, `cannot merge shapes ${JSON.stringify(inputShapes)}.`);
      out.push(known[0] ?? (dims.length > 0 ? null : 1));
    }
    return out;
  },
};

const concatRule: LayerRule = {
  behaviour: 'concat',
  status: 'ready',
  outputShape(layer, inputShapes) {
    const first = inputShapes[0];
    if (!first || inputShapes.length < 2) throw bad(layer, `needs at least 2 inputs.`);
    const axis = normaliseAxis(readNumber(layer, 'axis', -1), first.length);
    const out: Shape = [...first];
    let sum: number | null = 0;
    for (const s of inputShapes) {
      if (s.length !== first.length)
        throw bad(layer, `cannot concatenate shapes ${JSON.stringify(inputShapes)}.`);
      const v = s[axis] ?? null;
      sum = sum === null || v === null ? null : sum + v;
    }
    out[axis] = sum;
    return out;
  },
};

/** Whether a Concatenate joins its inputs on the channel (last) axis, e.g. `axis: -1` or `axis: 3` of a rank-4 output. */
export function concatsChannels(layer: RuleLayer, rank: number): boolean {
  return normaliseAxis(readNumber(layer, 'axis', -1), rank) === rank - 1;
}

const reshapeRule: LayerRule = {
  behaviour: 'opaque',
  status: 'ready',
  outputShape(layer, inputShapes) {
    const input = requireRank(layer, inputShapes[0], 'atLeast2');
    const target = layer.config['target_shape'];
    if (!Array.isArray(target)) throw bad(layer, `has no target_shape.`);
    const total = product(input.slice(1));
    const known = product((target as number[]).filter((d) => d !== -1));
    const dims = (target as number[]).map((d) =>
      d === -1 ? (total === null || known === null ? null : total / known) : d,
    );
    return [input[0] ?? null, ...dims];
  },
  // Row-major: when the last axis keeps its size C, element `pos*C + c` stays on channel c.
  behaviourOf(_layer, input, output) {
    const c = lastDim(input);
    return c !== null && c === lastDim(output) ? 'channelwise' : 'opaque';
  },
  resizeConfig(config, outChannels) {
    const t = config['target_shape'];
    if (Array.isArray(t) && t.length > 0 && t[t.length - 1] !== -1) {
      config['target_shape'] = [...(t as unknown[]).slice(0, -1), outChannels];
    }
  },
  blocker(layer, input, output) {
    return output && reshapeRule.behaviourOf!(layer, input, output) === 'channelwise'
      ? undefined
      : 'can move values between channels';
  },
};

const permuteRule: LayerRule = {
  behaviour: 'opaque',
  status: 'ready',
  outputShape(layer, inputShapes) {
    const input = requireRank(layer, inputShapes[0], 'atLeast2');
    const dims = layer.config['dims'];
    if (!Array.isArray(dims) || dims.length !== input.length - 1) throw bad(layer, `has invalid dims.`);
    return [input[0] ?? null, ...(dims as number[]).map((d) => input[d] ?? null)];
  },
  // A Permute that leaves the last axis last moves whole channel vectors around, not values between channels.
  behaviourOf(layer, input) {
    const dims = layer.config['dims'];
    return Array.isArray(dims) && dims[dims.length - 1] === input.length - 1 ? 'channelwise' : 'opaque';
  },
  blocker(layer, input) {
    return permuteRule.behaviourOf!(layer, input, input) === 'channelwise'
      ? undefined
      : 'can move values between channels';
  },
};

/**
 * Any class missing from the table (Lambda, TFOpLambda, custom layers): loaded, never pruned through.
 * Its output keeps the input's rank with unknown sizes; the next layer's weights tell its channel count.
 */
const unknownRule: LayerRule = {
  behaviour: 'opaque',
  status: 'unknown',
  outputShape(_layer, inputShapes) {
    const first = inputShapes[0];
    return first ? first.map(() => null) : [null];
  },
  blocker: (layer) => `is a ${layer.className} layer, whose channel behaviour PruneLab does not know`,
};

// ---------------------------------------------------------------------------------------------
// Keras's own columns: variables in creation order, constructor arguments both versions accept.

/** A config flag as Keras reads it when naming variables (anything but a boolean: the default). */
function flag(config: Config, key: string, fallback: boolean): boolean {
  const v = config[key];
  return typeof v === 'boolean' ? v : fallback;
}
const bias = (c: Config): string[] => (flag(c, 'use_bias', true) ? ['bias'] : []);
const scaleCenter = (c: Config): string[] => [
  ...(flag(c, 'scale', true) ? ['gamma'] : []),
  ...(flag(c, 'center', true) ? ['beta'] : []),
];

const CONV_ARGS = [
  'filters',
  'kernel_size',
  'strides',
  'padding',
  'data_format',
  'dilation_rate',
  'groups',
  'activation',
  'use_bias',
  'kernel_initializer',
  'bias_initializer',
  'kernel_regularizer',
  'bias_regularizer',
  'activity_regularizer',
  'kernel_constraint',
  'bias_constraint',
];
const CONV_TRANSPOSE_ARGS = [...CONV_ARGS.filter((k) => k !== 'groups'), 'output_padding'];
const DEPTHWISE_ARGS = [
  'kernel_size',
  'strides',
  'padding',
  'depth_multiplier',
  'data_format',
  'dilation_rate',
  'activation',
  'use_bias',
  'depthwise_initializer',
  'bias_initializer',
  'depthwise_regularizer',
  'bias_regularizer',
  'activity_regularizer',
  'depthwise_constraint',
  'bias_constraint',
];
const SEPARABLE_ARGS = [
  'filters',
  'kernel_size',
  'strides',
  'padding',
  'data_format',
  'dilation_rate',
  'depth_multiplier',
  'activation',
  'use_bias',
  'depthwise_initializer',
  'pointwise_initializer',
  'bias_initializer',
  'depthwise_regularizer',
  'pointwise_regularizer',
  'bias_regularizer',
  'activity_regularizer',
  'depthwise_constraint',
  'pointwise_constraint',
  'bias_constraint',
];
const DENSE_ARGS = [
  'units',
  'activation',
  'use_bias',
  'kernel_initializer',
  'bias_initializer',
  'kernel_regularizer',
  'bias_regularizer',
  'activity_regularizer',
  'kernel_constraint',
  'bias_constraint',
];
const NORM_ARGS = [
  'axis',
  'epsilon',
  'center',
  'scale',
  'beta_initializer',
  'gamma_initializer',
  'beta_regularizer',
  'gamma_regularizer',
  'beta_constraint',
  'gamma_constraint',
];
const BN_ARGS = [
  'axis',
  'momentum',
  'epsilon',
  'center',
  'scale',
  'beta_initializer',
  'gamma_initializer',
  'moving_mean_initializer',
  'moving_variance_initializer',
  'beta_regularizer',
  'gamma_regularizer',
  'beta_constraint',
  'gamma_constraint',
];
const POOL_ARGS = ['pool_size', 'strides', 'padding', 'data_format'];
const GLOBAL_POOL_ARGS = ['data_format', 'keepdims'];

const KERNEL: KerasClass['roles'] = (c) => ['kernel', ...bias(c)];
const DEPTHWISE: KerasClass['roles'] = (c) => ['depthwise_kernel', ...bias(c)];

/** A row: the rule, with Keras's columns and the per-class facts other stages read. */
function row(rule: LayerRule, extra: Partial<LayerRule> = {}): LayerRule {
  return { ...rule, ...extra };
}
const conv = (n: number): LayerRule =>
  row(convRule(n), { unit: 'filter', keras: { roles: KERNEL, args: CONV_ARGS } });
const separable = (n: number): LayerRule =>
  row(separableRule(n), {
    unit: 'filter',
    keras: { roles: (c) => ['depthwise_kernel', 'pointwise_kernel', ...bias(c)], args: SEPARABLE_ARGS },
  });
const perValue = (rule: LayerRule, args?: readonly string[]): LayerRule =>
  row(rule, { perValue: true, ...(args ? { keras: { args } } : {}) });
const withArgs = (rule: LayerRule, args: readonly string[]): LayerRule => row(rule, { keras: { args } });
/** A class Keras knows and PruneLab cannot analyse yet: loaded like any unknown class, written as Keras wants it. */
const kerasOnly = (keras: KerasClass, unit?: 'filter'): LayerRule =>
  row(unknownRule, { keras, ...(unit ? { unit } : {}) });

/**
 * The table: Keras class name -> rule. A class missing here (or marked `status: 'unknown'`) loads
 * with the cautious `opaque` rule and freezes what reaches it (see `unknownRule`).
 */
export const LAYER_RULES: Readonly<Record<string, LayerRule>> = {
  InputLayer: inputRule,

  Conv1D: conv(1),
  Conv2D: conv(2),
  Conv3D: conv(3),
  Conv2DTranspose: row(conv2dTransposeRule, {
    unit: 'filter',
    keras: { roles: KERNEL, args: CONV_TRANSPOSE_ARGS },
  }),
  SeparableConv1D: separable(1),
  SeparableConv2D: separable(2),
  Dense: row(denseRule, { unit: 'unit', keras: { roles: KERNEL, args: DENSE_ARGS } }),

  BatchNormalization: row(batchNormRule, {
    perValue: true,
    keras: {
      roles: (c) => [...scaleCenter(c), 'moving_mean', 'moving_variance'],
      nonTrainable: ['moving_mean', 'moving_variance'],
      args: BN_ARGS,
    },
  }),
  LayerNormalization: row(layerNormRule, { keras: { roles: scaleCenter, args: NORM_ARGS } }),
  PReLU: row(preluRule, {
    perValue: true,
    keras: {
      roles: () => ['alpha'],
      args: ['alpha_initializer', 'alpha_regularizer', 'alpha_constraint', 'shared_axes'],
    },
  }),
  DepthwiseConv2D: row(depthwiseRule, { unit: 'filter', keras: { roles: DEPTHWISE, args: DEPTHWISE_ARGS } }),
  Activation: row(activationRule, {
    perValue: (l) => l.config['activation'] !== 'softmax',
    keras: { args: ['activation'] },
  }),
  Softmax: withArgs(softmaxRule, ['axis']),
  ReLU: perValue(PASS, ['max_value', 'negative_slope', 'threshold']),
  LeakyReLU: perValue(PASS),
  ELU: perValue(PASS, ['alpha']),
  ThresholdedReLU: perValue(PASS),
  Dropout: perValue(PASS, ['rate', 'noise_shape', 'seed']),
  SpatialDropout1D: perValue(PASS),
  SpatialDropout2D: perValue(PASS),
  SpatialDropout3D: perValue(PASS),
  GaussianNoise: perValue(PASS),
  GaussianDropout: perValue(PASS),
  AlphaDropout: perValue(PASS),
  ActivityRegularization: perValue(PASS),
  Rescaling: perValue(PASS),
  MaxPooling1D: withArgs(poolRule(1), POOL_ARGS),
  MaxPooling2D: withArgs(poolRule(2), POOL_ARGS),
  MaxPooling3D: withArgs(poolRule(3), POOL_ARGS),
  AveragePooling1D: withArgs(poolRule(1), POOL_ARGS),
  AveragePooling2D: withArgs(poolRule(2), POOL_ARGS),
  AveragePooling3D: withArgs(poolRule(3), POOL_ARGS),
  ZeroPadding1D: withArgs(paddingRule(1, 'padding', 1), ['padding']),
  ZeroPadding2D: withArgs(paddingRule(2, 'padding', 1), ['padding', 'data_format']),
  ZeroPadding3D: withArgs(paddingRule(3, 'padding', 1), ['padding', 'data_format']),
  Cropping1D: withArgs(paddingRule(1, 'cropping', -1), ['cropping']),
  Cropping2D: withArgs(paddingRule(2, 'cropping', -1), ['cropping', 'data_format']),
  Cropping3D: withArgs(paddingRule(3, 'cropping', -1), ['cropping', 'data_format']),
  UpSampling1D: withArgs(upSamplingRule(1), ['size']),
  UpSampling2D: withArgs(upSamplingRule(2), ['size', 'data_format', 'interpolation']),
  UpSampling3D: withArgs(upSamplingRule(3), ['size', 'data_format']),

  GlobalAveragePooling1D: withArgs(globalPoolRule(1), GLOBAL_POOL_ARGS),
  GlobalAveragePooling2D: withArgs(globalPoolRule(2), GLOBAL_POOL_ARGS),
  GlobalAveragePooling3D: withArgs(globalPoolRule(3), GLOBAL_POOL_ARGS),
  GlobalMaxPooling1D: withArgs(globalPoolRule(1), GLOBAL_POOL_ARGS),
  GlobalMaxPooling2D: withArgs(globalPoolRule(2), GLOBAL_POOL_ARGS),
  GlobalMaxPooling3D: withArgs(globalPoolRule(3), GLOBAL_POOL_ARGS),

  Flatten: withArgs(flattenRule, ['data_format']),

  Add: withArgs(elementwiseRule, []),
  Subtract: withArgs(elementwiseRule, []),
  Multiply: withArgs(elementwiseRule, []),
  Average: withArgs(elementwiseRule, []),
  Maximum: withArgs(elementwiseRule, []),
  Minimum: withArgs(elementwiseRule, []),
  Concatenate: withArgs(concatRule, ['axis']),

  Reshape: withArgs(reshapeRule, ['target_shape']),
  Permute: withArgs(permuteRule, ['dims']),

  // Keras classes PruneLab reads and writes but cannot analyse yet.
  Conv1DTranspose: kerasOnly({ roles: KERNEL, args: CONV_TRANSPOSE_ARGS }, 'filter'),
  Conv3DTranspose: kerasOnly({ roles: KERNEL, args: CONV_TRANSPOSE_ARGS }, 'filter'),
  DepthwiseConv1D: kerasOnly({ roles: DEPTHWISE, args: DEPTHWISE_ARGS }, 'filter'),
  Embedding: kerasOnly({ roles: () => ['embeddings'] }),
};

function tableRow(className: string): LayerRule | undefined {
  return Object.prototype.hasOwnProperty.call(LAYER_RULES, className) ? LAYER_RULES[className] : undefined;
}

/** The rule for a class, or `undefined` when PruneLab cannot analyse it, e.g. `ruleFor('Conv2D').behaviour === 'producer'`. */
export function ruleFor(className: string): LayerRule | undefined {
  const rule = tableRow(className);
  return rule?.status === 'unknown' ? undefined : rule;
}

/** The rule for a class, with unknown classes (Lambda, custom) given the cautious `opaque` rule (status `unknown`). */
export function ruleOf(className: string): LayerRule {
  return tableRow(className) ?? unknownRule;
}

/** What Keras itself says about a class (its variables and arguments), also for classes PruneLab cannot analyse. */
export function kerasClassOf(className: string): KerasClass | undefined {
  return tableRow(className)?.keras;
}

/** Whether a layer acts on each value alone (its row's `perValue`), e.g. ReLU yes, `Activation('softmax')` no. */
export function isPerValue(layer: RuleLayer): boolean {
  const p = ruleOf(layer.className).perValue;
  return typeof p === 'function' ? p(layer) : p === true;
}

/** What `n` output channels of a producer class are called: `filters` (convolutions), `units` (Dense), else `channels`. */
export function unitWord(className: string | undefined, n: number): string {
  const unit = className === undefined ? undefined : tableRow(className)?.unit;
  const word = unit ?? 'channel';
  return n === 1 ? word : `${word}s`;
}

/** The input shape written in a layer's config (`batch_input_shape`, `batchInputShape`, `batch_shape`...), if any. */
export function configInputShape(layer: RuleLayer): Shape | undefined {
  return inputShapeOf(layer);
}
