/**
 * The one table that says how every Keras layer class treats channels (behaviour by class, never by
 * layer name: Torch-Pruning `pruner/function.py`). Everything downstream reads it: the IR builder
 * (shape inference, expected weight shapes), the channel graph (who owns, passes or reads channels),
 * the cost model (params and FLOPs as functions of channel counts), scoring (which axis is a filter)
 * and surgery (which axis of which weight to slice).
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
import { ModelLoadError } from '../io/errors';
import type { Shape } from '../ir/model-ir';

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

/**
 * The table: Keras class name -> rule. A class missing here is unsupported: `buildModelIR` names it
 * in a `ModelLoadError('UNSUPPORTED_LAYER')`.
 */
export const LAYER_RULES: Readonly<Record<string, LayerRule>> = {
  InputLayer: inputRule,

  Conv1D: convRule(1),
  Conv2D: convRule(2),
  Conv3D: convRule(3),
  Conv2DTranspose: conv2dTransposeRule,
  SeparableConv1D: separableRule(1),
  SeparableConv2D: separableRule(2),
  Dense: denseRule,

  BatchNormalization: batchNormRule,
  LayerNormalization: layerNormRule,
  PReLU: preluRule,
  DepthwiseConv2D: depthwiseRule,
  Activation: activationRule,
  Softmax: softmaxRule,
  ReLU: PASS,
  LeakyReLU: PASS,
  ELU: PASS,
  ThresholdedReLU: PASS,
  Dropout: PASS,
  SpatialDropout1D: PASS,
  SpatialDropout2D: PASS,
  SpatialDropout3D: PASS,
  GaussianNoise: PASS,
  GaussianDropout: PASS,
  AlphaDropout: PASS,
  ActivityRegularization: PASS,
  Rescaling: PASS,
  MaxPooling1D: poolRule(1),
  MaxPooling2D: poolRule(2),
  MaxPooling3D: poolRule(3),
  AveragePooling1D: poolRule(1),
  AveragePooling2D: poolRule(2),
  AveragePooling3D: poolRule(3),
  ZeroPadding1D: paddingRule(1, 'padding', 1),
  ZeroPadding2D: paddingRule(2, 'padding', 1),
  ZeroPadding3D: paddingRule(3, 'padding', 1),
  Cropping1D: paddingRule(1, 'cropping', -1),
  Cropping2D: paddingRule(2, 'cropping', -1),
  Cropping3D: paddingRule(3, 'cropping', -1),
  UpSampling1D: upSamplingRule(1),
  UpSampling2D: upSamplingRule(2),
  UpSampling3D: upSamplingRule(3),

  GlobalAveragePooling1D: globalPoolRule(1),
  GlobalAveragePooling2D: globalPoolRule(2),
  GlobalAveragePooling3D: globalPoolRule(3),
  GlobalMaxPooling1D: globalPoolRule(1),
  GlobalMaxPooling2D: globalPoolRule(2),
  GlobalMaxPooling3D: globalPoolRule(3),

  Flatten: flattenRule,

  Add: elementwiseRule,
  Subtract: elementwiseRule,
  Multiply: elementwiseRule,
  Average: elementwiseRule,
  Maximum: elementwiseRule,
  Minimum: elementwiseRule,
  Concatenate: concatRule,

  Reshape: reshapeRule,
  Permute: permuteRule,
};

/** The rule for a class, or `undefined` when PruneLab does not know it, e.g. `ruleFor('Conv2D').behaviour === 'producer'`. */
export function ruleFor(className: string): LayerRule | undefined {
  return Object.prototype.hasOwnProperty.call(LAYER_RULES, className) ? LAYER_RULES[className] : undefined;
}

/** The rule for a class, with unknown classes (Lambda, custom) given the cautious `opaque` rule (status `unknown`). */
export function ruleOf(className: string): LayerRule {
  return ruleFor(className) ?? unknownRule;
}

/** The channel behaviour of one layer: its class's, refined by its config (`Reshape` keeping the channel axis). */
export function behaviourOf(
  rule: LayerRule,
  layer: RuleLayer,
  inputShape: Shape,
  outputShape: Shape,
): ChannelBehaviour {
  return rule.behaviourOf?.(layer, inputShape, outputShape) ?? rule.behaviour;
}

/** The input shape written in a layer's config (`batch_input_shape`, `batchInputShape`, `batch_shape`...), if any. */
export function configInputShape(layer: RuleLayer): Shape | undefined {
  return inputShapeOf(layer);
}

/** Identity map (`c -> c`), for layers without `channelMap`. */
export const IDENTITY_MAP: ChannelMap = { inner: 1, outer: 1 };

/**
 * Expands kept channel indices through a channel map, in the new (ascending) order:
 * `expandKept([0, 2], 3, 2, 1)` (depthwise m=2) is `[0, 1, 4, 5]`;
 * `expandKept([1], 2, 1, 3)` (Flatten of `[.., 3 positions, 2 channels]`) is `[1, 3, 5]` (`c + C*k`).
 */
export function expandKept(kept: readonly number[], width: number, inner: number, outer: number): number[] {
  if (inner === 1 && outer === 1) return [...kept];
  const out: number[] = [];
  const block = width * inner;
  for (let k = 0; k < outer; k++) {
    for (const c of kept) {
      for (let j = 0; j < inner; j++) out.push(k * block + c * inner + j);
    }
  }
  return out;
}
