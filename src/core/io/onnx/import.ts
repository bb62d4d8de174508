/**
 * ONNX op graph -> the layer IR's Keras form (channels-last artifacts), so that scores, plans, preview,
 * sensitivity, fine-tuning and the Keras/TF.js writers work on a PyTorch export unchanged. Each ONNX
 * node becomes the Keras layer that computes the same thing on NHWC tensors:
 *
 * - Conv `[M, C/g, kh, kw]` (OIHW) -> Conv2D kernel `[kh, kw, C, M]` (HWIO); `group = C` ->
 *   DepthwiseConv2D `[kh, kw, C, M/C]`; other groups -> Conv2D with `groups` (frozen by its rule).
 *   Pads that are not Keras 'same' (PyTorch's stride-2 `padding=1` on an even size) become a
 *   ZeroPadding2D before a 'valid' conv.
 * - Gemm / MatMul -> Dense (`transB = 1`: `B` transposed). After a Flatten of NCHW `[C, H, W]` the
 *   Dense rows are reordered from PyTorch's `c*H*W + k` to Keras's `k*C + c`, so the channel rules
 *   (Flatten -> Dense rows `c + C*k`) hold as for any Keras model.
 * - BatchNormalization, Relu, Clip(0, 6) (ReLU6), LeakyRelu, Sigmoid, Sigmoid*x (SiLU), Tanh, Elu,
 *   HardSigmoid (Keras's), Softmax, Add/Sub/Mul/Max/Min of two feature maps, Concat on channels,
 *   Max/AveragePool (ceil_mode and pads made explicit), GlobalAverage/MaxPool, ReduceMean over H,W,
 *   Flatten, Pad (zeros), Resize (nearest, integer scales), Dropout and Identity (gone).
 * - Shape arithmetic (Shape/Gather/Unsqueeze/Concat/Cast/Div/Mul...) is folded (fold.ts); the
 *   Reshape it feeds becomes a Flatten, or, for ShuffleNet's channel shuffle (Reshape to
 *   `[N, g, C/g, H, W]`, Transpose `[0, 2, 1, 3, 4]`, Reshape back), Reshape -> Permute -> Reshape.
 *   A channel Slice becomes Permute -> Cropping2D -> Permute. Both move channels: their rules freeze
 *   the groups they touch, and the reason names the ONNX op and node.
 * - Any other op becomes a layer of class `Onnx<Op>` that PruneLab does not know: the model opens, the
 *   groups that reach it are frozen with its op and node named, and tfjs cannot run it.
 *
 * Layer names come from PyTorch's module scopes (`/features/features.0/features.0.0/Conv` ->
 * `features.0.0`); weight names are `<layer>/<role>`; `userDefinedMetadata.origin` (origin.ts) records
 * the way back to every initializer.
 */
import type { InputFile, ModelArtifactsData, WeightTensor } from '../../ir/artifacts';
import type { KerasLayerJSON, KerasModelTopology } from '../../ir/keras-json';
import { ModelLoadError } from '../errors';
import { baseName } from '../format';
import { foldNode, type Folded } from './fold';
import type { OnnxLayout, OnnxOrigin, OnnxWeightLink } from './origin';
import {
  attr,
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  externalResolver,
  readTensor,
  toNumber,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type TensorValue,
} from './proto';

/** A feature tensor: ONNX NCHW `[N, c, h, w]` (`map`, Keras `[N, h, w, c]`) or `[N, c]` (`vec`). */
interface Feat {
  layer: string;
  kind: 'map' | 'vec';
  c: number;
  h: number;
  w: number;
  /** A vec that ONNX holds as `[N, c, 1, 1]` (global pooling with keepdims). */
  onnx4d?: boolean;
  /** A vec made by flattening a map `[c, h, w]` in ONNX's order `c*h*w + k`. */
  flat?: { c: number; h: number; w: number };
}

/** Keras 'same' pads of one dimension (more at the end, as TensorFlow does), or `undefined`. */
function samePads(length: number, k: number, s: number): [number, number] {
  const out = Math.ceil(length / s);
  const total = Math.max((out - 1) * s + k - length, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function clean(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[._-]+/, '') || 'layer';
}

/**
 * The PyTorch module a node belongs to, as its `state_dict` prefix: the scopes of
 * `/features/features.1/conv/conv.0/conv.0.0/Conv` give `features.1.conv.0.0`; `/Relu_1` gives `Relu_1`.
 */
function scopeName(node: NodeProto, index: number): string {
  const parts = (node.name ?? '').split('/').filter((p) => p !== '');
  if (parts.length === 0) return `${node.opType ?? 'node'}_${index}`;
  if (parts.length === 1) return parts[0]!;
  const path: string[] = [];
  let last = '';
  for (const seg of parts.slice(0, -1)) {
    if (path.length > 0 && seg.startsWith(`${last}.`))
      path[path.length - 1] = path[path.length - 1]!.slice(0, -last.length) + seg;
    else path.push(seg);
    last = seg;
  }
  return path.join('.');
}

class Converter {
  readonly layers: KerasLayerJSON[] = [];
  readonly weights: WeightTensor[] = [];
  readonly origin: OnnxOrigin;
  private readonly names = new Set<string>();
  private readonly feats = new Map<string, Feat>();
  private readonly known: [Folded, Folded] = [new Map<string, TensorValue>(), new Map<string, TensorValue>()];
  private readonly inits = new Map<string, TensorProto>();
  /** Identity outputs of initializers -> the initializer (exporters share equal tensors this way). */
  private readonly alias = new Map<string, string>();
  private readonly consumers = new Map<string, NodeProto[]>();
  /** Nodes already converted as part of a pattern (channel shuffle, SiLU, MatMul + Add). */
  private readonly done = new Set<NodeProto>();
  private nodeIndex = 0;

  constructor(
    private readonly model: ModelProto,
    private readonly resolve: (location: string) => InputFile | undefined,
    private readonly file: string,
  ) {
    const graph = model.graph!;
    this.origin = {
      format: 'onnx',
      inputLayout: 'NCHW',
      input: '',
      outputs: (graph.output ?? []).map((o) => o.name ?? ''),
      layers: {},
      weights: {},
      tensors: {},
    };
    for (const t of graph.initializer ?? []) {
      if (!t.name) continue;
      this.inits.set(t.name, t);
      const count = (t.dims ?? []).reduce<number>((a, d) => a * toNumber(d), 1);
      // Small integer or scalar initializers take part in shape arithmetic.
      if (count <= 64) this.setKnown(t.name, readTensor(t, resolve));
    }
    for (const node of graph.node ?? []) {
      for (const i of node.input ?? []) this.consumers.set(i, [...(this.consumers.get(i) ?? []), node]);
    }
  }

  private setKnown(name: string, v: TensorValue): void {
    this.known[0].set(name, v);
    this.known[1].set(name, v);
  }

  private unsupported(node: NodeProto, why: string): ModelLoadError {
    return new ModelLoadError(
      'UNSUPPORTED_LAYER',
      `ONNX ${node.opType ?? '?'} node '${node.name ?? ''}' in '${this.file}' ${why}`,
      { layer: node.name ?? '' },
    );
  }

  /** A fresh, Keras-safe layer name from the node's PyTorch scope. */
  private nameFor(node: NodeProto, suffix?: string): string {
    let base = clean(scopeName(node, this.nodeIndex));
    if (suffix) base = `${base}_${suffix}`;
    let name = base;
    if (this.names.has(name)) name = `${base}_${clean((node.opType ?? 'op').toLowerCase())}`;
    for (let i = 2; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  private addLayer(
    node: NodeProto | undefined,
    className: string,
    config: Record<string, unknown>,
    inbound: string[],
    suffix?: string,
    fixedName?: string,
  ): string {
    const name = fixedName ?? this.nameFor(node!, suffix);
    if (fixedName) this.names.add(fixedName);
    this.layers.push({
      class_name: className,
      name,
      config: { name, trainable: true, dtype: 'float32', ...config },
      inbound_nodes: inbound.length === 0 ? [] : [inbound.map((n) => [n, 0, 0, {}])],
    });
    if (node) this.origin.layers[name] = { op: node.opType ?? '', node: node.name ?? '' };
    return name;
  }

  private addWeight(
    layer: string,
    role: string,
    shape: number[],
    values: Float32Array,
    link: Omit<OnnxWeightLink, 'dims'> & { dims: number[] },
  ): void {
    const name = `${layer}/${role}`;
    this.weights.push({ name, shape, dtype: 'float32', values });
    this.origin.weights[name] = link;
  }

  /** The initializer behind a tensor name (through Identity nodes), or undefined. */
  private initializer(name: string): TensorProto | undefined {
    let n = name;
    for (let i = 0; i < 8 && this.alias.has(n); i++) n = this.alias.get(n)!;
    return this.inits.get(n);
  }

  private constant(node: NodeProto, input: number, what: string): TensorValue {
    const name = node.input?.[input] ?? '';
    const t = this.initializer(name);
    if (!t)
      throw this.unsupported(
        node,
        `reads its ${what} '${name}' from a computed tensor; PruneLab needs it as an initializer.`,
      );
    return readTensor(t, this.resolve);
  }

  private feat(node: NodeProto, input = 0): Feat {
    const name = node.input?.[input] ?? '';
    const f = this.feats.get(name);
    if (!f)
      throw this.unsupported(
        node,
        `reads '${name}', which is neither a feature map PruneLab follows nor a constant.`,
      );
    return f;
  }

  private setOut(node: NodeProto, f: Feat, output = 0): void {
    const name = node.output?.[output];
    if (!name) return;
    this.feats.set(name, f);
    this.origin.tensors[name] = f.layer;
  }

  /** Both folds of a constant input (batch 3 and batch 5), or undefined. */
  private folded(name: string | undefined): [TensorValue, TensorValue] | undefined {
    if (!name) return undefined;
    const a = this.known[0].get(name);
    const b = this.known[1].get(name);
    return a && b ? [a, b] : undefined;
  }

  private shapeOf = (name: string): number[] | undefined => {
    const f = this.feats.get(name);
    if (!f) return undefined;
    if (f.kind === 'map') return [f.c, f.h, f.w];
    return f.onnx4d ? [f.c, 1, 1] : [f.c];
  };

  convert(): void {
    const graph = this.model.graph!;
    const inputs = (graph.input ?? []).filter((i) => !this.inits.has(i.name ?? ''));
    if (inputs.length !== 1) {
      throw new ModelLoadError(
        'UNSUPPORTED_LAYER',
        `'${this.file}' has ${inputs.length} graph inputs (${inputs.map((i) => i.name).join(', ')}); PruneLab reads models with one image input.`,
        { file: this.file },
      );
    }
    const input = inputs[0]!;
    const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d) =>
      d.dimValue !== undefined && d.dimValue !== null && toNumber(d.dimValue) > 0
        ? toNumber(d.dimValue)
        : null,
    );
    if ((dims.length !== 4 && dims.length !== 2) || dims.slice(1).some((d) => d === null)) {
      throw new ModelLoadError(
        'UNSUPPORTED_LAYER',
        `Input '${input.name ?? ''}' of '${this.file}' has shape [${dims.map((d) => d ?? '?').join(', ')}]; PruneLab needs [batch, C, H, W] (or [batch, features]) with C, H and W known: export with a fixed image size.`,
        { file: this.file },
      );
    }
    this.origin.input = input.name ?? 'input';
    const inName = clean(input.name ?? 'input');
    const [c, h, w] = dims.length === 4 ? [dims[1]!, dims[2]!, dims[3]!] : [dims[1]!, 1, 1];
    this.origin.inputLayout = dims.length === 4 ? 'NCHW' : 'NC';
    this.addLayer(
      undefined,
      'InputLayer',
      { batch_input_shape: dims.length === 4 ? [null, h, w, c] : [null, c], sparse: false },
      [],
      undefined,
      inName,
    );
    this.feats.set(input.name ?? '', { layer: inName, kind: dims.length === 4 ? 'map' : 'vec', c, h, w });
    this.origin.tensors[input.name ?? ''] = inName;

    for (const node of graph.node ?? []) {
      this.nodeIndex++;
      if (this.done.has(node)) continue;
      this.convertNode(node);
    }
  }

  private convertNode(node: NodeProto): void {
    const op = node.opType ?? '';
    if (op === 'Constant') {
      const t = attr(node, 'value')?.t;
      if (t && node.output?.[0]) this.setKnown(node.output[0], readTensor(t, this.resolve));
      return;
    }
    if (op === 'Identity' && this.inits.has(node.input?.[0] ?? '')) {
      this.alias.set(node.output![0]!, node.input![0]!);
      return;
    }
    if (op === 'Identity' || op === 'Dropout') {
      const f = this.feats.get(node.input?.[0] ?? '');
      if (f) {
        this.setOut(node, f);
        return;
      }
    }
    if (foldNode(node, this.known, this.shapeOf)) return;
    const handler = HANDLERS[op];
    if (handler) handler(this, node);
    else this.opaque(node, 'has no PruneLab equivalent');
  }

  /** An op PruneLab cannot map: a layer of an unknown class, so the groups reaching it freeze, naming it. */
  opaque(node: NodeProto, _why: string): void {
    const ins = (node.input ?? []).map((n) => this.feats.get(n)).filter((f): f is Feat => f !== undefined);
    const first = ins[0];
    if (!first) throw this.unsupported(node, 'reads no feature map PruneLab follows.');
    if ((node.output ?? []).length !== 1)
      throw this.unsupported(node, `has ${node.output?.length ?? 0} outputs; PruneLab follows one.`);
    const layer = this.addLayer(
      node,
      `Onnx${clean(node.opType ?? 'Op')}`,
      { onnx_op: node.opType },
      ins.map((f) => f.layer),
    );
    this.setOut(node, { ...first, layer });
  }

  // -------------------------------------------------------------------------------------------
  // Spatial padding

  /**
   * Keras padding for a window op with ONNX `pads` `[t, l, b, r]` (or `auto_pad`): 'valid', 'same'
   * when the pads are TensorFlow's, else a ZeroPadding2D layer in front (returned as the new input).
   */
  private padding(
    node: NodeProto,
    x: Feat,
    k: [number, number],
    s: [number, number],
    d: [number, number],
    ceil = false,
  ): { padding: 'valid' | 'same'; input: string; h: number; w: number } {
    const auto = attrString(node, 'auto_pad') ?? 'NOTSET';
    const dk = [0, 1].map((i) => k[i]! + (k[i]! - 1) * (d[i]! - 1)) as [number, number];
    const lengths = [x.h, x.w];
    let pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      const p = [0, 1].map((i) => samePads(lengths[i]!, dk[i]!, s[i]!));
      pads =
        auto === 'SAME_UPPER'
          ? [p[0]![0], p[1]![0], p[0]![1], p[1]![1]]
          : [p[0]![1], p[1]![1], p[0]![0], p[1]![0]];
    } else if (auto === 'VALID') pads = [0, 0, 0, 0];
    const begin = [pads[0]!, pads[1]!];
    const end = [pads[2]!, pads[3]!];
    const out = [0, 1].map((i) => {
      const span = lengths[i]! + begin[i]! + end[i]! - dk[i]!;
      let o = (ceil ? Math.ceil(span / s[i]!) : Math.floor(span / s[i]!)) + 1;
      // PyTorch: the last window must start inside the input or its left padding.
      if (ceil && (o - 1) * s[i]! >= lengths[i]! + begin[i]!) o--;
      // What the window really covers past the end (ceil_mode adds to the end padding).
      end[i] = Math.max(end[i]!, (o - 1) * s[i]! + dk[i]! - lengths[i]! - begin[i]!);
      return o;
    }) as [number, number];
    if (begin.every((p) => p === 0) && end.every((p) => p === 0))
      return { padding: 'valid', input: x.layer, h: out[0], w: out[1] };
    const same = [0, 1].map((i) => samePads(lengths[i]!, dk[i]!, s[i]!));
    if (
      [0, 1].every(
        (i) =>
          same[i]![0] === begin[i] && same[i]![1] === end[i] && Math.ceil(lengths[i]! / s[i]!) === out[i],
      )
    ) {
      return { padding: 'same', input: x.layer, h: out[0], w: out[1] };
    }
    const pad = this.addLayer(
      node,
      'ZeroPadding2D',
      {
        padding: [
          [begin[0], end[0]],
          [begin[1], end[1]],
        ],
        data_format: 'channels_last',
      },
      [x.layer],
      'pad',
    );
    return { padding: 'valid', input: pad, h: out[0], w: out[1] };
  }

  // -------------------------------------------------------------------------------------------
  // Handlers (bound to the converter)

  conv(node: NodeProto): void {
    const x = this.feat(node);
    if (x.kind !== 'map') throw this.unsupported(node, 'convolves a tensor that is not NCHW 4-D.');
    const W = this.constant(node, 1, 'weight');
    if (W.dims.length !== 4)
      throw this.unsupported(node, `has a ${W.dims.length}-D weight; PruneLab reads 2-D convolutions.`);
    const [M, Cg, kh, kw] = W.dims as [number, number, number, number];
    const g = attrInt(node, 'group', 1);
    const s = (attrInts(node, 'strides') ?? [1, 1]) as [number, number];
    const d = (attrInts(node, 'dilations') ?? [1, 1]) as [number, number];
    const pad = this.padding(node, x, [kh, kw], s, d);
    const biasName = node.input?.[2];
    const depthwise = g > 1 && g === x.c && Cg === 1;
    const common = {
      kernel_size: [kh, kw],
      strides: s,
      padding: pad.padding,
      data_format: 'channels_last',
      dilation_rate: d,
      activation: 'linear',
      use_bias: !!biasName,
    };
    const name = depthwise
      ? this.addLayer(node, 'DepthwiseConv2D', { ...common, depth_multiplier: M / g }, [pad.input])
      : this.addLayer(node, 'Conv2D', { ...common, filters: M, ...(g > 1 ? { groups: g } : {}) }, [
          pad.input,
        ]);
    const k = new Float32Array(W.values.length);
    if (depthwise) {
      const m = M / g;
      for (let c = 0; c < g; c++)
        for (let j = 0; j < m; j++)
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++)
              k[((a * kw + b) * g + c) * m + j] = W.values[((c * m + j) * kh + a) * kw + b]!;
      this.addWeight(name, 'depthwise_kernel', [kh, kw, g, m], k, {
        tensor: node.input![1]!,
        layout: 'depthwise',
        dims: W.dims,
      });
    } else {
      for (let o = 0; o < M; o++)
        for (let c = 0; c < Cg; c++)
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++)
              k[((a * kw + b) * Cg + c) * M + o] = W.values[((o * Cg + c) * kh + a) * kw + b]!;
      this.addWeight(name, 'kernel', [kh, kw, Cg, M], k, {
        tensor: node.input![1]!,
        layout: 'oihw',
        dims: W.dims,
      });
    }
    if (biasName) this.vector(node, name, 'bias', 2);
    this.setOut(node, { layer: name, kind: 'map', c: M, h: pad.h, w: pad.w });
  }

  convTranspose(node: NodeProto): void {
    const x = this.feat(node);
    const W = this.constant(node, 1, 'weight');
    const [C, M, kh, kw] = W.dims as [number, number, number, number];
    const s = (attrInts(node, 'strides') ?? [1, 1]) as [number, number];
    const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    const extra = attrInts(node, 'output_padding') ?? [0, 0];
    const d = attrInts(node, 'dilations') ?? [1, 1];
    if (
      x.kind !== 'map' ||
      attrInt(node, 'group', 1) !== 1 ||
      pads.some((p) => p !== 0) ||
      extra.some((p) => p !== 0) ||
      d.some((v) => v !== 1) ||
      attr(node, 'output_shape') ||
      kh < s[0] ||
      kw < s[1]
    ) {
      return this.opaque(node, 'uses pads, groups, dilations or output padding');
    }
    const biasName = node.input?.[2];
    const name = this.addLayer(
      node,
      'Conv2DTranspose',
      {
        filters: M,
        kernel_size: [kh, kw],
        strides: s,
        padding: 'valid',
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        activation: 'linear',
        use_bias: !!biasName,
      },
      [x.layer],
    );
    const k = new Float32Array(W.values.length);
    for (let c = 0; c < C; c++)
      for (let o = 0; o < M; o++)
        for (let a = 0; a < kh; a++)
          for (let b = 0; b < kw; b++)
            k[((a * kw + b) * M + o) * C + c] = W.values[((c * M + o) * kh + a) * kw + b]!;
    this.addWeight(name, 'kernel', [kh, kw, M, C], k, {
      tensor: node.input![1]!,
      layout: 'iohw',
      dims: W.dims,
    });
    if (biasName) this.vector(node, name, 'bias', 2);
    // ONNX without pads: (L - 1) * s + k, Keras 'valid': L * s + max(k - s, 0); equal for k >= s.
    this.setOut(node, { layer: name, kind: 'map', c: M, h: (x.h - 1) * s[0] + kh, w: (x.w - 1) * s[1] + kw });
  }

  /** A per-channel vector input (bias, BN parameters) as a weight of `layer`. */
  private vector(node: NodeProto, layer: string, role: string, input: number, scale = 1): void {
    const t = this.constant(node, input, role);
    const n = t.values.length;
    const values = Float32Array.from(t.values, (v) => v * scale);
    this.addWeight(layer, role, [n], values, {
      tensor: node.input![input]!,
      layout: 'vector',
      dims: t.dims,
      ...(scale !== 1 ? { scale } : {}),
    });
  }

  batchNorm(node: NodeProto): void {
    const x = this.feat(node);
    const name = this.addLayer(
      node,
      'BatchNormalization',
      {
        axis: -1,
        momentum: attrFloat(node, 'momentum', 0.9),
        epsilon: attrFloat(node, 'epsilon', 1e-5),
        center: true,
        scale: true,
      },
      [x.layer],
    );
    ['gamma', 'beta', 'moving_mean', 'moving_variance'].forEach((role, i) =>
      this.vector(node, name, role, i + 1),
    );
    this.setOut(node, { ...x, layer: name });
  }

  /** A per-value layer with the same shape out as in. */
  pass(node: NodeProto, className: string, config: Record<string, unknown>): void {
    const x = this.feat(node);
    const name = this.addLayer(node, className, config, [x.layer]);
    this.setOut(node, { ...x, layer: name });
  }

  relu(node: NodeProto): void {
    this.pass(node, 'Activation', { activation: 'relu' });
  }

  clip(node: NodeProto): void {
    const bound = (i: number, key: string): number | undefined => {
      const f = this.folded(node.input?.[i]);
      if (f) return f[0].values[0];
      const a = attr(node, key);
      return a ? (a.f ?? undefined) : undefined;
    };
    const lo = bound(1, 'min');
    const hi = bound(2, 'max');
    if (lo !== 0) return this.opaque(node, `clips to [${lo}, ${hi}]`);
    if (hi === undefined || !Number.isFinite(hi)) return this.relu(node);
    this.pass(node, 'ReLU', { max_value: hi, negative_slope: 0, threshold: 0 });
  }

  sigmoid(node: NodeProto): void {
    // SiLU: Mul(x, Sigmoid(x)) -> one swish layer.
    const x = node.input?.[0] ?? '';
    const readers = this.consumers.get(node.output?.[0] ?? '') ?? [];
    const mul = readers.length === 1 && readers[0]!.opType === 'Mul' ? readers[0]! : undefined;
    if (mul && (mul.input ?? []).includes(x) && this.feats.has(x)) {
      this.done.add(mul);
      const f = this.feats.get(x)!;
      const name = this.addLayer(mul, 'Activation', { activation: 'swish' }, [f.layer]);
      this.origin.layers[name] = { op: 'Sigmoid*Mul (SiLU)', node: mul.name ?? '' };
      this.setOut(mul, { ...f, layer: name });
      return;
    }
    this.pass(node, 'Activation', { activation: 'sigmoid' });
  }

  hardSigmoid(node: NodeProto): void {
    const alpha = attrFloat(node, 'alpha', 0.2);
    const beta = attrFloat(node, 'beta', 0.5);
    // Keras's hard_sigmoid is clip(0.2x + 0.5); PyTorch's Hardsigmoid (alpha 1/6) has no Keras layer.
    if (Math.abs(alpha - 0.2) > 1e-6 || Math.abs(beta - 0.5) > 1e-6)
      return this.opaque(node, `has alpha ${alpha}`);
    this.pass(node, 'Activation', { activation: 'hard_sigmoid' });
  }

  softmax(node: NodeProto): void {
    const x = this.feat(node);
    const axis = attrInt(node, 'axis', -1);
    if (x.kind === 'vec' && !x.onnx4d && (axis === 1 || axis === -1))
      return this.pass(node, 'Activation', { activation: 'softmax' });
    if (x.kind === 'map' && axis === 1) return this.pass(node, 'Softmax', { axis: -1 });
    this.opaque(node, `is a softmax over axis ${axis}`);
  }

  merge(node: NodeProto, className: string): void {
    const ins = (node.input ?? []).map((n) => this.feats.get(n));
    if (ins.length < 2 || ins.some((f) => !f))
      return this.opaque(node, 'merges a feature map with a constant');
    const feats = ins as Feat[];
    const map = feats.find((f) => f.kind === 'map');
    const inbound = feats.map((f) => {
      // An SE block's [N, C, 1, 1] scale against an NCHW map: reshape the Keras [N, C] to [N, 1, 1, C].
      if (map && f.kind === 'vec' && f.onnx4d) {
        return this.addLayer(node, 'Reshape', { target_shape: [1, 1, f.c] }, [f.layer], 'reshape');
      }
      return f.layer;
    });
    const name = this.addLayer(node, className, {}, inbound);
    const out = map ?? feats[0]!;
    this.setOut(node, {
      ...out,
      layer: name,
      c: Math.max(...feats.map((f) => f.c)),
      flat: undefined,
    });
  }

  concat(node: NodeProto): void {
    const feats = (node.input ?? []).map((n) => this.feats.get(n));
    if (feats.some((f) => !f)) return this.opaque(node, 'concatenates a constant');
    const fs = feats as Feat[];
    const first = fs[0]!;
    const rank = first.kind === 'map' || first.onnx4d ? 4 : 2;
    const axis = attrInt(node, 'axis', 1);
    if ((axis !== 1 && axis !== 1 - rank) || fs.some((f) => f.kind !== first.kind))
      return this.opaque(node, `concatenates on axis ${axis}`);
    const name = this.addLayer(
      node,
      'Concatenate',
      { axis: -1 },
      fs.map((f) => f.layer),
    );
    this.setOut(node, { ...first, layer: name, c: fs.reduce((n, f) => n + f.c, 0) });
  }

  pool(node: NodeProto, className: 'MaxPooling2D' | 'AveragePooling2D'): void {
    const x = this.feat(node);
    const k = attrInts(node, 'kernel_shape') as [number, number];
    const s = (attrInts(node, 'strides') ?? [1, 1]) as [number, number];
    const d = attrInts(node, 'dilations') ?? [1, 1];
    if (x.kind !== 'map' || d.some((v) => v !== 1)) return this.opaque(node, 'pools with dilations');
    const ceil = attrInt(node, 'ceil_mode', 0) === 1;
    const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    if (
      className === 'AveragePooling2D' &&
      pads.some((p) => p !== 0) &&
      attrInt(node, 'count_include_pad', 0) === 0
    ) {
      const pad = this.padding(node, x, k, s, [1, 1], ceil);
      if (pad.padding !== 'same' || pad.input !== x.layer)
        return this.opaque(node, 'averages over padding it does not count');
    }
    // Zero padding before a max pool is exact on the non-negative maps PyTorch pools (after ReLU).
    const pad = this.padding(node, x, k, s, [1, 1], ceil);
    const name = this.addLayer(
      node,
      className,
      { pool_size: k, strides: s, padding: pad.padding, data_format: 'channels_last' },
      [pad.input],
    );
    this.setOut(node, { ...x, layer: name, h: pad.h, w: pad.w });
  }

  globalPool(node: NodeProto, className: 'GlobalAveragePooling2D' | 'GlobalMaxPooling2D', keep = true): void {
    const x = this.feat(node);
    if (x.kind !== 'map') return this.opaque(node, 'pools a tensor that is not NCHW');
    const name = this.addLayer(node, className, { data_format: 'channels_last' }, [x.layer]);
    this.setOut(node, { layer: name, kind: 'vec', c: x.c, h: 1, w: 1, ...(keep ? { onnx4d: true } : {}) });
  }

  reduce(node: NodeProto, className: 'GlobalAveragePooling2D' | 'GlobalMaxPooling2D'): void {
    const axes =
      attrInts(node, 'axes') ??
      (this.folded(node.input?.[1])?.[0].values
        ? Array.from(this.folded(node.input?.[1])![0].values)
        : undefined);
    const x = this.feat(node);
    const norm = (axes ?? []).map((a) => (a < 0 ? a + 4 : a)).sort();
    if (x.kind !== 'map' || norm.join() !== '2,3')
      return this.opaque(node, `reduces over axes ${JSON.stringify(axes)}`);
    this.globalPool(node, className, attrInt(node, 'keepdims', 1) === 1);
  }

  /** Flatten of NCHW `[c, h, w]`: Keras flattens `[h, w, c]`, so the reader's rows get reordered (see gemm). */
  private flattenTo(node: NodeProto, x: Feat, suffix?: string): Feat {
    if (x.kind === 'vec') return { ...x, onnx4d: false };
    const name = this.addLayer(node, 'Flatten', { data_format: 'channels_last' }, [x.layer], suffix);
    const flat = x.h * x.w === 1 ? undefined : { c: x.c, h: x.h, w: x.w };
    return { layer: name, kind: 'vec', c: x.c * x.h * x.w, h: 1, w: 1, ...(flat ? { flat } : {}) };
  }

  flatten(node: NodeProto): void {
    const x = this.feat(node);
    if (attrInt(node, 'axis', 1) !== 1)
      return this.opaque(node, `flattens from axis ${attrInt(node, 'axis', 1)}`);
    this.setOut(node, this.flattenTo(node, x));
  }

  reshape(node: NodeProto): void {
    const x = this.feat(node);
    const target = this.folded(node.input?.[1]);
    if (!target) return this.opaque(node, 'reshapes to a size PruneLab cannot compute');
    // Entries that differ between the two folds are the batch.
    const dims = Array.from(target[0].values, (v, i) =>
      v !== target[1].values[i] ? 'N' : v === 0 ? 'N' : v,
    );
    // Only `[N, -1]`: a spelt-out size would be wrong in the written file once channels go.
    if (dims.length === 2 && dims[0] === 'N' && dims[1] === -1) {
      return this.setOut(node, this.flattenTo(node, x));
    }
    // Channel shuffle: Reshape [N, g, C/g, H, W] -> Transpose [0, 2, 1, 3, 4] -> Reshape [N, C, H, W].
    const readers = this.consumers.get(node.output?.[0] ?? '') ?? [];
    const tr = readers.length === 1 && readers[0]!.opType === 'Transpose' ? readers[0]! : undefined;
    const back = tr && (this.consumers.get(tr.output?.[0] ?? '') ?? []);
    const last = back?.length === 1 && back[0]!.opType === 'Reshape' ? back[0]! : undefined;
    if (x.kind === 'map' && dims.length === 5 && tr && last && attrInts(tr, 'perm')?.join() === '0,2,1,3,4') {
      const [, g, cg, h, w] = dims as [unknown, number, number, number, number];
      if (g * cg === x.c && h === x.h && w === x.w) {
        const a = this.addLayer(node, 'Reshape', { target_shape: [h, w, g, cg] }, [x.layer]);
        const b = this.addLayer(tr, 'Permute', { dims: [1, 2, 4, 3] }, [a]);
        const c = this.addLayer(last, 'Reshape', { target_shape: [h, w, x.c] }, [b]);
        this.done.add(tr);
        this.done.add(last);
        this.setOut(last, { ...x, layer: c });
        return;
      }
    }
    this.opaque(node, `reshapes to [${dims.join(', ')}]`);
  }

  slice(node: NodeProto): void {
    const x = this.feat(node);
    const get = (i: number) => this.folded(node.input?.[i])?.[0].values;
    const starts = get(1);
    const ends = get(2);
    const axes = get(3) ?? Float64Array.from([0]);
    const steps = get(4);
    if (
      x.kind !== 'map' ||
      !starts ||
      !ends ||
      axes.length !== 1 ||
      (axes[0] !== 1 && axes[0] !== -3) ||
      (steps && steps[0] !== 1)
    ) {
      return this.opaque(node, 'slices along an axis or with bounds PruneLab cannot follow');
    }
    const clamp = (v: number) => Math.max(0, Math.min(x.c, v < 0 ? x.c + v : v));
    const [from, to] = [clamp(starts[0]!), clamp(ends[0]!)];
    // Channels to a spatial axis, crop them there, and back: exact, and every rule sees values moving between channels.
    const a = this.addLayer(node, 'Permute', { dims: [3, 1, 2] }, [x.layer], 'to_chw');
    const b = this.addLayer(
      node,
      'Cropping2D',
      {
        cropping: [
          [from, x.c - to],
          [0, 0],
        ],
        data_format: 'channels_last',
      },
      [a],
    );
    const c = this.addLayer(node, 'Permute', { dims: [2, 3, 1] }, [b], 'to_hwc');
    this.setOut(node, { ...x, layer: c, c: to - from });
  }

  gemm(node: NodeProto, matmul = false): void {
    const x = this.feat(node);
    if (x.kind !== 'vec' || x.onnx4d)
      return this.opaque(node, 'multiplies a tensor that is not [N, features]');
    if (!matmul && attrInt(node, 'transA', 0) !== 0) return this.opaque(node, 'has transA = 1');
    const B = this.initializer(node.input?.[1] ?? '');
    if (!B) return this.opaque(node, 'multiplies by a computed matrix');
    const b = readTensor(B, this.resolve);
    const transB = !matmul && attrInt(node, 'transB', 0) === 1;
    const [K, N] = transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
    if (b.dims.length !== 2 || K !== x.c)
      throw this.unsupported(node, `multiplies ${x.c} features by a [${b.dims.join(', ')}] matrix.`);
    const alpha = matmul ? 1 : attrFloat(node, 'alpha', 1);
    const beta = matmul ? 1 : attrFloat(node, 'beta', 1);
    let biasInput = matmul ? undefined : node.input?.[2];
    let out = node;
    // MatMul + Add(bias): one Dense.
    if (matmul) {
      const readers = this.consumers.get(node.output?.[0] ?? '') ?? [];
      const add = readers.length === 1 && readers[0]!.opType === 'Add' ? readers[0]! : undefined;
      const other = add?.input?.find((n) => n !== node.output?.[0]);
      const t = other ? this.initializer(other) : undefined;
      if (add && t && (t.dims ?? []).reduce<number>((p, d) => p * toNumber(d), 1) === N) {
        this.done.add(add);
        biasInput = other;
        out = add;
      }
    }
    const name = this.addLayer(node, 'Dense', { units: N, activation: 'linear', use_bias: !!biasInput }, [
      x.layer,
    ]);
    const hw = x.flat ? x.flat.h * x.flat.w : 1;
    const C = x.flat ? x.flat.c : K;
    const kernel = new Float32Array(K * N);
    for (let c = 0; c < C; c++)
      for (let p = 0; p < hw; p++) {
        const onnxRow = c * hw + p;
        const kerasRow = p * C + c;
        for (let n = 0; n < N; n++) {
          kernel[kerasRow * N + n] = alpha * b.values[transB ? n * K + onnxRow : onnxRow * N + n]!;
        }
      }
    const layout: OnnxLayout = transB ? 'gemm-t' : 'gemm';
    this.addWeight(name, 'kernel', [K, N], kernel, {
      tensor: node.input![1]!,
      layout,
      dims: b.dims,
      ...(x.flat && hw > 1 ? { flatten: { h: x.flat.h, w: x.flat.w } } : {}),
      ...(alpha !== 1 ? { scale: alpha } : {}),
    });
    if (biasInput) {
      const bias = readTensor(this.initializer(biasInput)!, this.resolve);
      if (bias.values.length !== N)
        throw this.unsupported(node, `adds a bias of ${bias.values.length} values to ${N} units.`);
      this.addWeight(
        name,
        'bias',
        [N],
        Float32Array.from(bias.values, (v) => v * beta),
        {
          tensor: biasInput,
          layout: 'vector',
          dims: bias.dims,
          ...(beta !== 1 ? { scale: beta } : {}),
        },
      );
    }
    this.setOut(out, { layer: name, kind: 'vec', c: N, h: 1, w: 1 });
  }

  pad(node: NodeProto): void {
    const x = this.feat(node);
    const pads = this.folded(node.input?.[1])?.[0].values ?? Float64Array.from(attrInts(node, 'pads') ?? []);
    const value = this.folded(node.input?.[2])?.[0].values[0] ?? attrFloat(node, 'value', 0);
    const mode = attrString(node, 'mode') ?? 'constant';
    if (
      x.kind !== 'map' ||
      pads.length !== 8 ||
      mode !== 'constant' ||
      value !== 0 ||
      pads[0] ||
      pads[1] ||
      pads[4] ||
      pads[5]
    ) {
      return this.opaque(node, 'pads other than zeros on H and W');
    }
    const [t, l, b, r] = [pads[2]!, pads[3]!, pads[6]!, pads[7]!];
    const name = this.addLayer(
      node,
      'ZeroPadding2D',
      {
        padding: [
          [t, b],
          [l, r],
        ],
        data_format: 'channels_last',
      },
      [x.layer],
    );
    this.setOut(node, { ...x, layer: name, h: x.h + t + b, w: x.w + l + r });
  }

  resize(node: NodeProto): void {
    const x = this.feat(node);
    const mode = attrString(node, 'mode') ?? 'nearest';
    const scales = this.folded(node.input?.[2])?.[0].values ?? this.folded(node.input?.[1])?.[0].values;
    const sizes = this.folded(node.input?.[3])?.[0].values;
    const sh = scales && scales.length === 4 ? scales[2]! : sizes ? sizes[2]! / x.h : Number.NaN;
    const sw = scales && scales.length === 4 ? scales[3]! : sizes ? sizes[3]! / x.w : Number.NaN;
    if (x.kind !== 'map' || mode !== 'nearest' || !Number.isInteger(sh) || !Number.isInteger(sw)) {
      return this.opaque(node, `resizes by ${sh}x${sw} (${mode})`);
    }
    const name = this.addLayer(
      node,
      'UpSampling2D',
      { size: [sh, sw], interpolation: 'nearest', data_format: 'channels_last' },
      [x.layer],
    );
    this.setOut(node, { ...x, layer: name, h: x.h * sh, w: x.w * sw });
  }

  finish(name: string): ModelArtifactsData {
    const outs = this.origin.outputs.map((o) => {
      const f = this.feats.get(o);
      if (!f)
        throw new ModelLoadError(
          'UNSUPPORTED_LAYER',
          `Output '${o}' of '${this.file}' is not computed from the input by ops PruneLab follows.`,
          { file: this.file },
        );
      return f.layer;
    });
    const topology = {
      class_name: 'Model',
      config: {
        name: clean(name),
        layers: this.layers,
        input_layers: [[this.feats.get(this.origin.input)!.layer, 0, 0]],
        output_layers: outs.map((o) => [o, 0, 0]),
      },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    } as unknown as KerasModelTopology;
    return {
      modelTopology: topology,
      weights: this.weights,
      format: 'layers-model',
      generatedBy:
        `PruneLab from ONNX (${this.model.producerName ?? 'unknown'} ${this.model.producerVersion ?? ''})`.replace(
          / \)/,
          ')',
        ),
      convertedBy: null,
      userDefinedMetadata: { origin: this.origin },
    };
  }
}

type Handler = (c: Converter, node: NodeProto) => void;

/** ONNX op -> handler; an op missing here becomes an `Onnx<Op>` layer that freezes what it touches. */
const HANDLERS: Readonly<Record<string, Handler>> = {
  Conv: (c, n) => c.conv(n),
  ConvTranspose: (c, n) => c.convTranspose(n),
  BatchNormalization: (c, n) => c.batchNorm(n),
  Relu: (c, n) => c.relu(n),
  Clip: (c, n) => c.clip(n),
  Sigmoid: (c, n) => c.sigmoid(n),
  HardSigmoid: (c, n) => c.hardSigmoid(n),
  Tanh: (c, n) => c.pass(n, 'Activation', { activation: 'tanh' }),
  LeakyRelu: (c, n) => c.pass(n, 'LeakyReLU', { alpha: attrFloat(n, 'alpha', 0.01) }),
  Elu: (c, n) => c.pass(n, 'ELU', { alpha: attrFloat(n, 'alpha', 1) }),
  Softmax: (c, n) => c.softmax(n),
  Add: (c, n) => c.merge(n, 'Add'),
  Sub: (c, n) => c.merge(n, 'Subtract'),
  Mul: (c, n) => c.merge(n, 'Multiply'),
  Max: (c, n) => c.merge(n, 'Maximum'),
  Min: (c, n) => c.merge(n, 'Minimum'),
  Concat: (c, n) => c.concat(n),
  MaxPool: (c, n) => c.pool(n, 'MaxPooling2D'),
  AveragePool: (c, n) => c.pool(n, 'AveragePooling2D'),
  GlobalAveragePool: (c, n) => c.globalPool(n, 'GlobalAveragePooling2D'),
  GlobalMaxPool: (c, n) => c.globalPool(n, 'GlobalMaxPooling2D'),
  ReduceMean: (c, n) => c.reduce(n, 'GlobalAveragePooling2D'),
  ReduceMax: (c, n) => c.reduce(n, 'GlobalMaxPooling2D'),
  Flatten: (c, n) => c.flatten(n),
  Reshape: (c, n) => c.reshape(n),
  Slice: (c, n) => c.slice(n),
  Gemm: (c, n) => c.gemm(n),
  MatMul: (c, n) => c.gemm(n, true),
  Pad: (c, n) => c.pad(n),
  Resize: (c, n) => c.resize(n),
  Upsample: (c, n) => c.resize(n),
};

/**
 * Converts a decoded ONNX model (and the external-data files dropped with it) to artifacts in the
 * Keras form every stage reads, with `userDefinedMetadata.origin` (origin.ts) recording the way back.
 * Throws `ModelLoadError` naming the node or file at fault.
 */
export function onnxToArtifacts(
  model: ModelProto,
  file: InputFile,
  files: readonly InputFile[],
): ModelArtifactsData {
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (opset && toNumber(opset.version) < 7) {
    throw new ModelLoadError(
      'UNSUPPORTED_LAYER',
      `'${file.path}' uses ONNX opset ${toNumber(opset.version)}; PruneLab reads opset 7 and later.`,
      { file: file.path },
    );
  }
  const c = new Converter(model, externalResolver(file, files), file.path);
  c.convert();
  const stem = baseName(file.path).replace(/\.onnx$/i, '') || model.graph?.name || 'model';
  return c.finish(stem);
}
