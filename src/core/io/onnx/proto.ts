/**
 * The ONNX protobuf, read and written by `onnx-proto` (the official onnx.proto compiled by protobufjs),
 * never by a hand-written decoder; plus what every ONNX stage needs on top: tensors as numbers
 * (raw, typed or external data), attributes by name, and a cheap sniff of a ModelProto's first bytes.
 *
 * Layouts here are ONNX's: Conv weight `[M, C/group, kH, kW]` (OIHW), activations NCHW, Gemm `B`
 * `[K, N]` or `[N, K]` with `transB = 1`. Int64 fields arrive as `Long` objects (protobufjs with the
 * `long` package): `toNumber` reads both forms.
 */
import * as onnxProto from 'onnx-proto';
import type { InputFile } from '../../ir/artifacts';
import { ModelLoadError } from '../errors';
import { baseName, dirName, normalizePath } from '../format';

// onnx-proto is CommonJS: bundlers expose `onnx` as a named export, Node's ESM loader only as `default.onnx`.
type OnnxNamespace = typeof onnxProto.onnx;
const ns = onnxProto as unknown as { onnx?: OnnxNamespace; default?: { onnx?: OnnxNamespace } };
export const onnx: OnnxNamespace = (ns.onnx ?? ns.default?.onnx)!;

export type ModelProto = onnxProto.onnx.ModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** ONNX `TensorProto.DataType` codes PruneLab reads. */
export const DTYPE = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

type LongLike = number | { toNumber(): number } | null | undefined;

/** An int64 protobuf field as a JS number (`Long` or number; onnx-proto's types name `Long` without its package). */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  const long = v as { toNumber?: () => number } | null | undefined;
  return typeof long?.toNumber === 'function' ? long.toNumber() : 0;
}

/**
 * Whether bytes look like a serialized ModelProto: field 1 (`ir_version`, a small varint) first, then
 * one of ModelProto's other fields (producer, domain, graph, opset...). PyTorch, tf2onnx and the onnx
 * package all write `ir_version` first; a JSON, zip or HDF5 file never starts with byte 0x08.
 */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || bytes[0] !== 0x08) return false;
  const version = bytes[1]!;
  if (version < 1 || version > 30) return false;
  return [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72].includes(bytes[2]!);
}

/** Decodes a ModelProto, naming the file when protobuf refuses it. */
export function decodeModel(file: InputFile): ModelProto {
  try {
    const model = onnx.ModelProto.decode(file.bytes);
    if (!model.graph) throw new Error('it has no graph');
    return model;
  } catch (e) {
    throw new ModelLoadError(
      'BAD_TOPOLOGY',
      `'${file.path}' is not a readable ONNX model: ${e instanceof Error ? e.message : String(e)}.`,
      { file: file.path },
    );
  }
}

/** Encodes a ModelProto back to bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  const b = onnx.ModelProto.encode(model).finish();
  // protobufjs hands out a Node Buffer in Node: give every caller the same plain Uint8Array.
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** An attribute's value by name (`i`, `f`, `ints`, `floats`, `s`, `t`), or `fallback`. */
export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? toNumber(a.i) : fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? (a.f ?? fallback) : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = attr(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map((x) => toNumber(x)) : undefined;
}

export function attrString(node: NodeProto, name: string): string | undefined {
  const a = attr(node, name);
  return a?.s && a.s.length > 0 ? new TextDecoder().decode(a.s) : undefined;
}

/** A decoded tensor: its dims and its values as float64 numbers (weights, or folded shape arithmetic). */
export interface TensorValue {
  dims: number[];
  dtype: number;
  values: Float64Array;
}

/** Where a tensor's bytes live when `data_location` is EXTERNAL: `{location, offset, length}`. */
function externalRef(t: TensorProto): { location: string; offset: number; length?: number } | undefined {
  if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  const get = (k: string) => t.externalData?.find((e) => e.key === k)?.value ?? undefined;
  const location = get('location');
  if (!location) return undefined;
  const offset = Number(get('offset') ?? 0);
  const length = get('length');
  return { location, offset, ...(length !== undefined ? { length: Number(length) } : {}) };
}

/**
 * External-data files among the dropped ones, by the path a `location` names relative to the model:
 * `model.onnx` + `model.onnx.data` in one folder (or dropped flat) resolve to each other.
 */
export function externalResolver(model: InputFile, files: readonly InputFile[]) {
  const dir = dirName(model.path);
  return (location: string): InputFile | undefined => {
    const want = normalizePath(dir === '' ? location : `${dir}/${location}`);
    return (
      files.find((f) => normalizePath(f.path) === want) ??
      files.find((f) => baseName(f.path) === baseName(location))
    );
  };
}

/** The bytes of a tensor: inline `raw_data`, or its slice of an external-data file (named if missing). */
function rawBytes(
  t: TensorProto,
  resolve: (location: string) => InputFile | undefined,
): Uint8Array | undefined {
  const ext = externalRef(t);
  if (!ext) return t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const file = resolve(ext.location);
  if (!file) {
    throw new ModelLoadError(
      'MISSING_SHARD',
      `Tensor '${t.name ?? ''}' keeps its data in '${ext.location}', which was not provided: drop it together with the .onnx file.`,
      { file: ext.location },
    );
  }
  const end = ext.length === undefined ? file.bytes.length : ext.offset + ext.length;
  if (ext.offset < 0 || end > file.bytes.length) {
    throw new ModelLoadError(
      'SHARD_SIZE_MISMATCH',
      `Tensor '${t.name ?? ''}' reads bytes ${ext.offset}..${end} of '${file.path}', which has ${file.bytes.length}.`,
      { file: file.path },
    );
  }
  return file.bytes.subarray(ext.offset, end);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** A TensorProto's values as numbers, row-major in `dims`; throws `UNSUPPORTED_DTYPE` naming it otherwise. */
export function readTensor(
  t: TensorProto,
  resolve: (location: string) => InputFile | undefined = () => undefined,
): TensorValue {
  const dims = (t.dims ?? []).map((d) => toNumber(d));
  const count = dims.reduce((a, b) => a * b, 1);
  const dtype = t.dataType ?? 0;
  const raw = rawBytes(t, resolve);
  const out = new Float64Array(count);
  const bad = (have: number) =>
    new ModelLoadError(
      'WEIGHT_MISMATCH',
      `ONNX tensor '${t.name ?? ''}' has dims [${dims.join(', ')}] (${count} values) but holds ${have}.`,
    );
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8 }[dtype];
    if (width === undefined) throw unsupported(t, dtype);
    if (raw.byteLength !== count * width) throw bad(raw.byteLength / width);
    for (let i = 0; i < count; i++) {
      const o = i * width;
      out[i] =
        dtype === DTYPE.FLOAT
          ? view.getFloat32(o, true)
          : dtype === DTYPE.DOUBLE
            ? view.getFloat64(o, true)
            : dtype === DTYPE.INT64
              ? Number(view.getBigInt64(o, true))
              : dtype === DTYPE.INT32
                ? view.getInt32(o, true)
                : dtype === DTYPE.FLOAT16
                  ? halfToFloat(view.getUint16(o, true))
                  : dtype === DTYPE.INT8
                    ? view.getInt8(o)
                    : view.getUint8(o);
    }
    return { dims, dtype, values: out };
  }
  const list: LongLike[] | number[] | undefined =
    dtype === DTYPE.FLOAT
      ? (t.floatData ?? undefined)
      : dtype === DTYPE.DOUBLE
        ? (t.doubleData ?? undefined)
        : dtype === DTYPE.INT64
          ? ((t.int64Data ?? undefined) as LongLike[] | undefined)
          : dtype === DTYPE.FLOAT16
            ? undefined
            : [DTYPE.INT32, DTYPE.INT8, DTYPE.UINT8, DTYPE.BOOL].includes(dtype as 6)
              ? (t.int32Data ?? undefined)
              : undefined;
  if (list === undefined && dtype !== DTYPE.FLOAT16) throw unsupported(t, dtype);
  if (dtype === DTYPE.FLOAT16) {
    const halves = t.int32Data ?? [];
    if (halves.length !== count) throw bad(halves.length);
    halves.forEach((h, i) => (out[i] = halfToFloat(h)));
    return { dims, dtype, values: out };
  }
  if (list!.length !== count) throw bad(list!.length);
  list!.forEach((v, i) => (out[i] = toNumber(v)));
  return { dims, dtype, values: out };
}

function unsupported(t: TensorProto, dtype: number): ModelLoadError {
  return new ModelLoadError(
    'UNSUPPORTED_DTYPE',
    `ONNX tensor '${t.name ?? ''}' has data type ${dtype}; PruneLab reads float32/16/64 and int8/32/64 tensors.`,
  );
}

/** A float32 TensorProto (raw little-endian data) named `name` with `dims`. */
export function floatTensor(name: string, dims: readonly number[], values: Float32Array): TensorProto {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: DTYPE.FLOAT, rawData: raw });
}
