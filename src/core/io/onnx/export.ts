/**
 * Pruned (and fine-tuned) artifacts back into the user's own ONNX file: the ModelProto they opened,
 * with only its initializers replaced by the artifacts' weights (sliced, in ONNX layout again) and
 * the shapes it states (value_info) updated. Every node, name, attribute, opset, input and output
 * stays as it was, so whatever consumed the file keeps working (STYLE example 15). Two exceptions,
 * both forced by the new sizes: a depthwise Conv's `group` attribute (it is the channel count), and
 * an initializer PyTorch's exporter shared between layers through Identity nodes (equal zero biases)
 * that the plan now slices differently: that Identity reads a copy named `<tensor>.prunelab`.
 *
 * Provenance: the kept indices of every initializer, by name (for `torch.onnx.export` these are the
 * `state_dict` keys, `onnx::Conv_53` where constant folding merged a BatchNorm into its conv), go into
 * `metadata_props['prunelab']` and a sidecar JSON beside the file, so a PyTorch user can slice their
 * own checkpoint: `t.index_select(axis, kept[axis])` for every axis that is not `null`.
 */
import type { InputFile, ModelArtifactsData, OutputFile, WeightTensor } from '../../ir/artifacts';
import { buildModelIR } from '../../ir/build-ir';
import { ModelLoadError } from '../errors';
import { baseName } from '../format';
import { findOnnxModel } from './format';
import { onnxOriginOf, type OnnxOrigin, type OnnxWeightLink } from './origin';
import {
  decodeModel,
  encodeModel,
  externalResolver,
  floatTensor,
  onnx,
  readTensor,
  toNumber,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from './proto';

/** Kept indices of one initializer: its original dims and, per axis, the original indices kept (`null`: all). */
export interface OnnxKeptRecord {
  dims: number[];
  kept: (number[] | null)[];
  /** The layer (PyTorch module path) it belongs to, and its role there. */
  layer: string;
  role: string;
}

/** The provenance of a pruned ONNX file: `metadata_props['prunelab']` and the sidecar `<name>.prunelab.json`. */
export interface OnnxProvenance {
  version: 1;
  tool: 'PruneLab';
  source: string;
  /** The plan in the workbench's terms (layer names), as in `userDefinedMetadata.prunelab.plan`. */
  plan?: unknown;
  initializers: Record<string, OnnxKeptRecord>;
}

interface KeptRecord {
  inputChannels?: number[];
  outputChannels?: number[];
}

function keptOf(a: ModelArtifactsData): Record<string, KeptRecord> {
  const r = a.userDefinedMetadata?.['prunelab'] as { kept?: Record<string, KeptRecord> } | undefined;
  return r?.kept ?? {};
}

/** The artifacts' weight in the ONNX layout its link says, with its ONNX dims. */
function toOnnxLayout(w: WeightTensor, link: OnnxWeightLink): { dims: number[]; values: Float32Array } {
  const v = w.values;
  const out = new Float32Array(v.length);
  const scale = link.scale ?? 1;
  switch (link.layout) {
    case 'oihw': {
      const [kh, kw, C, M] = w.shape as [number, number, number, number];
      for (let o = 0; o < M; o++)
        for (let c = 0; c < C; c++)
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++)
              out[((o * C + c) * kh + a) * kw + b] = v[((a * kw + b) * C + c) * M + o]!;
      return { dims: [M, C, kh, kw], values: out };
    }
    case 'depthwise': {
      const [kh, kw, C, m] = w.shape as [number, number, number, number];
      for (let c = 0; c < C; c++)
        for (let j = 0; j < m; j++)
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++)
              out[((c * m + j) * kh + a) * kw + b] = v[((a * kw + b) * C + c) * m + j]!;
      return { dims: [C * m, 1, kh, kw], values: out };
    }
    case 'iohw': {
      const [kh, kw, M, C] = w.shape as [number, number, number, number];
      for (let c = 0; c < C; c++)
        for (let o = 0; o < M; o++)
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++)
              out[((c * M + o) * kh + a) * kw + b] = v[((a * kw + b) * M + o) * C + c]!;
      return { dims: [C, M, kh, kw], values: out };
    }
    case 'gemm':
    case 'gemm-t': {
      const [K, N] = w.shape as [number, number];
      const hw = link.flatten ? link.flatten.h * link.flatten.w : 1;
      const C = K / hw;
      for (let c = 0; c < C; c++)
        for (let p = 0; p < hw; p++) {
          const onnxRow = c * hw + p;
          const kerasRow = p * C + c;
          for (let n = 0; n < N; n++) {
            const x = v[kerasRow * N + n]! / scale;
            if (link.layout === 'gemm-t') out[n * K + onnxRow] = x;
            else out[onnxRow * N + n] = x;
          }
        }
      return { dims: link.layout === 'gemm-t' ? [N, K] : [K, N], values: out };
    }
    case 'vector': {
      for (let i = 0; i < v.length; i++) out[i] = v[i]! / scale;
      // Keep the original rank ([N] or [1, N]): the channel axis is the one of the original length.
      const n = link.dims.reduce((p, d) => p * d, 1);
      return { dims: link.dims.map((d) => (d === n ? v.length : d)), values: out };
    }
  }
}

/** Per ONNX axis, the original indices kept (null: all), from the layer's kept channels. */
function keptAxes(link: OnnxWeightLink, kept: KeptRecord | undefined, role: string): (number[] | null)[] {
  const ins = kept?.inputChannels ?? null;
  const outs = kept?.outputChannels ?? null;
  switch (link.layout) {
    case 'oihw':
      return [outs, ins, null, null];
    case 'depthwise':
      return [outs ?? ins, null, null, null];
    case 'iohw':
      return [ins, outs, null, null];
    case 'gemm':
    case 'gemm-t': {
      let rows = ins;
      if (rows && link.flatten) {
        // Keras rows `p*C + c` back to ONNX's `c*h*w + p`.
        const hw = link.flatten.h * link.flatten.w;
        const C = (link.layout === 'gemm-t' ? link.dims[1]! : link.dims[0]!) / hw;
        rows = rows.map((r) => (r % C) * hw + Math.floor(r / C)).sort((a, b) => a - b);
      }
      return link.layout === 'gemm-t' ? [outs, rows] : [rows, outs];
    }
    case 'vector': {
      // A bias follows its layer's outputs; a BatchNorm's vectors its (equal) inputs and outputs.
      const axis = role === 'bias' ? outs : (outs ?? ins);
      return link.dims.map((d) => (d === link.dims.reduce((p, x) => p * x, 1) ? axis : null));
    }
  }
}

function sameTensor(
  a: { dims: number[]; values: Float32Array },
  b: { dims: number[]; values: Float32Array },
): boolean {
  if (a.dims.join() !== b.dims.join() || a.values.length !== b.values.length) return false;
  for (let i = 0; i < a.values.length; i++) if (!Object.is(a.values[i], b.values[i])) return false;
  return true;
}

/** Initializers by name, and the Identity nodes that pass one on, by their output. */
function index(model: ModelProto): { inits: Map<string, TensorProto>; identities: Map<string, NodeProto> } {
  const graph = model.graph!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t] as const));
  const identities = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) {
    if (n.opType === 'Identity' && n.output?.[0]) identities.set(n.output[0], n);
  }
  return { inits, identities };
}

function checkSource(model: ModelProto, origin: OnnxOrigin, file: string): void {
  const inputs = (model.graph?.input ?? []).map((i) => i.name);
  if (!inputs.includes(origin.input)) {
    throw new ModelLoadError(
      'BAD_PLAN',
      `'${file}' has no input '${origin.input}': the model was opened from another ONNX file.`,
      { file },
    );
  }
}

/**
 * Writes `artifacts` (an ONNX import, pruned and/or fine-tuned) into the user's own ONNX file from
 * `source` (the files it was opened from: the .onnx and any external data). Returns the new `.onnx`
 * (initializers inline) and the sidecar `<name>.prunelab.json` with the kept indices per initializer.
 * Example: MNIST pruned to 8 of conv1's 16 filters gives `onnx::Conv_53` dims `[8, 1, 3, 3]`, kept
 * `[[0, 2, ...], null, null, null]`, and `onnx::Conv_56` (conv2) `[32, 8, 3, 3]`, kept `[null, [0, 2, ...], null, null]`.
 */
export function writeOnnx(source: readonly InputFile[], artifacts: ModelArtifactsData): OutputFile[] {
  const origin = onnxOriginOf(artifacts);
  if (!origin) {
    throw new ModelLoadError(
      'BAD_PLAN',
      'These artifacts were not opened from an ONNX file: there is no ONNX model to write them into.',
    );
  }
  const file = findOnnxModel(source);
  if (!file) throw new ModelLoadError('NO_FILES', 'The ONNX file the model was opened from was not given.');
  const model = decodeModel(file);
  checkSource(model, origin, file.path);
  const resolve = externalResolver(file, source);
  const { inits, identities } = index(model);
  const kept = keptOf(artifacts);
  const ir = buildModelIR(artifacts);
  const provenance: OnnxProvenance = {
    version: 1,
    tool: 'PruneLab',
    source: baseName(file.path),
    initializers: {},
  };
  const plan = (artifacts.userDefinedMetadata?.['prunelab'] as { plan?: unknown } | undefined)?.plan;
  if (plan !== undefined) provenance.plan = plan;

  // New values per initializer; the first writer of a shared initializer owns it.
  const written = new Map<string, { dims: number[]; values: Float32Array }>();
  const extra: TensorProto[] = [];
  for (const w of artifacts.weights) {
    const link = origin.weights[w.name];
    if (!link) continue;
    const value = toOnnxLayout(w, link);
    let target = link.tensor;
    let identity: NodeProto | undefined;
    for (let i = 0; i < 8 && !inits.has(target); i++) {
      identity = identities.get(target);
      if (!identity?.input?.[0]) break;
      target = identity.input[0];
    }
    const init = inits.get(target);
    if (!init) {
      throw new ModelLoadError(
        'BAD_PLAN',
        `'${file.path}' has no initializer '${link.tensor}' for weight '${w.name}'.`,
        { file: file.path },
      );
    }
    const original = (init.dims ?? []).map((d) => toNumber(d));
    if (original.join() !== link.dims.join()) {
      throw new ModelLoadError(
        'BAD_PLAN',
        `Initializer '${target}' of '${file.path}' has dims [${original.join(', ')}], not the [${link.dims.join(', ')}] the model was opened with: it was opened from another ONNX file.`,
        { file: file.path },
      );
    }
    const slash = w.name.lastIndexOf('/');
    const layer = w.name.slice(0, slash);
    provenance.initializers[link.tensor] = {
      dims: link.dims,
      kept: keptAxes(link, kept[layer], w.name.slice(slash + 1)),
      layer,
      role: w.name.slice(slash + 1),
    };
    const before = written.get(target);
    if (!before) {
      written.set(target, value);
    } else if (!sameTensor(before, value)) {
      if (!identity) {
        throw new ModelLoadError(
          'BAD_PLAN',
          `Initializer '${target}' is read by two layers that now need different values.`,
          { file: file.path },
        );
      }
      // An exporter-shared tensor (Identity of an initializer) the plan slices differently: give this reader a copy.
      const name = `${link.tensor}.prunelab`;
      extra.push(floatTensor(name, value.dims, value.values));
      identity.input = [name];
    }
  }

  const graph = model.graph!;
  graph.initializer = (graph.initializer ?? []).map((t) => {
    const v = written.get(t.name ?? '');
    if (v) return floatTensor(t.name ?? '', v.dims, v.values);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      // Everything inline: the written file stands alone.
      const r = readTensor(t, resolve);
      return t.dataType === 1
        ? floatTensor(t.name ?? '', r.dims, Float32Array.from(r.values))
        : onnx.TensorProto.create({ ...t, dataLocation: 0, externalData: [], rawData: rawOf(t, resolve) });
    }
    return t;
  });
  graph.initializer.push(...extra);
  updateShapes(model, origin, ir);
  updateDepthwiseGroups(model, origin, written);

  const json = JSON.stringify(provenance);
  const props = (model.metadataProps ?? []).filter((p) => p.key !== 'prunelab');
  props.push(onnx.StringStringEntryProto.create({ key: 'prunelab', value: json }));
  model.metadataProps = props;
  const stem = baseName(file.path).replace(/\.onnx$/i, '');
  return [
    { path: `${stem}.onnx`, bytes: encodeModel(model) },
    {
      path: `${stem}.prunelab.json`,
      bytes: new TextEncoder().encode(`${JSON.stringify(provenance, null, 1)}\n`),
    },
  ];
}

function rawOf(t: TensorProto, resolve: (location: string) => InputFile | undefined): Uint8Array {
  const ext = t.externalData ?? [];
  const get = (k: string) => ext.find((e) => e.key === k)?.value;
  const f = resolve(get('location') ?? '');
  if (!f) return new Uint8Array();
  const offset = Number(get('offset') ?? 0);
  const length = get('length');
  return f.bytes.slice(offset, length === undefined || length === null ? undefined : offset + Number(length));
}

/**
 * A depthwise Conv's `group` is its channel count: the one attribute pruning must change (ONNX
 * checks `C == kernel channels * group`). Every other attribute stays as the user's file has it.
 */
function updateDepthwiseGroups(
  model: ModelProto,
  origin: OnnxOrigin,
  written: ReadonlyMap<string, { dims: number[] }>,
): void {
  const depthwise = new Map(
    Object.values(origin.weights)
      .filter((l) => l.layout === 'depthwise')
      .map((l) => [l.tensor, l] as const),
  );
  for (const node of model.graph?.node ?? []) {
    const link = node.opType === 'Conv' ? depthwise.get(node.input?.[1] ?? '') : undefined;
    const group = node.attribute?.find((a) => a.name === 'group');
    const dims = link && written.get(link.tensor)?.dims;
    if (!link || !group || !dims) continue;
    const m = link.dims[0]! / toNumber(group.i);
    group.i = dims[0]! / m;
  }
}

/** value_info (and graph outputs) of feature tensors: axis 1 takes the pruned layer's channel count. */
function updateShapes(model: ModelProto, origin: OnnxOrigin, ir: ReturnType<typeof buildModelIR>): void {
  const channels = new Map(ir.layers.map((l) => [l.name, l.outputShape[l.outputShape.length - 1]] as const));
  const graph = model.graph!;
  for (const vi of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const layer = origin.tensors[vi.name ?? ''];
    const c = layer === undefined ? undefined : channels.get(layer);
    const dim = vi.type?.tensorType?.shape?.dim?.[1];
    if (
      typeof c === 'number' &&
      dim &&
      dim.dimValue !== undefined &&
      dim.dimValue !== null &&
      toNumber(dim.dimValue) > 0
    ) {
      dim.dimValue = c;
    }
  }
}
