import type { ModelArtifactsData, OutputFile, WeightTensor } from '../ir/artifacts';
import type { ManifestWeightEntry, TfjsModelJSON } from '../ir/keras-json';
import { stampWriter, TFJS_FORMAT_VERSION } from '../surgery/apply-plan';
import { decodeWeight, elementCount } from './dequantize';
import {
  sourceStorageOf,
  type SourceStorage,
  type StoredWeight,
  type TfjsQuantization,
} from './source-storage';
import { tfjsPortableTopology } from './tfjs-portable';

export type { TfjsQuantization } from './source-storage';

/** tfjs-converter's default shard size (`--weight_shard_size_bytes`): 4 MiB. */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface WriteTfjsOptions {
  /** Largest shard file, in bytes; weights are split across shards at any byte, as tfjs does. */
  shardBytes?: number;
  /** The JSON's name without `.json` (default `model`); shards keep the standard `group1-shardKofN.bin`. */
  baseName?: string;
  /**
   * Weight quantization, as tensorflowjs_converter's `--quantize_float16` / `--quantize_uint8` /
   * `--quantize_uint16` do: float32 weights only (int32 and non-finite ones stay as they are).
   * uint8/uint16: affine per weight, `value = q * scale + min`, max error half a step; float16: IEEE
   * half precision (about 3 significant digits). Default: each weight as the opened model stored it
   * (`source`), float32 without a record.
   */
  quantize?: TfjsQuantization;
  /**
   * How the opened model stored its weights (source-storage.ts); default: the record on `a` itself.
   * A weight stored as uint8/uint16 whose values all lie on its original grid is written with the
   * original `scale`/`min`, so re-quantizing a pruned quantized model loses nothing more.
   */
  source?: SourceStorage;
}

interface Encoding {
  entry: ManifestWeightEntry;
  bytes: number;
}

function checkWeight(w: WeightTensor): void {
  const n = elementCount(w.shape);
  const typed = w.dtype === 'int32' ? w.values instanceof Int32Array : w.values instanceof Float32Array;
  if (w.values.length !== n || !typed) {
    throw new Error(
      `writeTfjsModel: weight '${w.name}' has ${w.values.length} ${w.values.constructor.name} values but shape ` +
        `${JSON.stringify(w.shape)} (${w.dtype}) needs ${n}.`,
    );
  }
}

/**
 * The affine uint8/uint16 parameters tensorflowjs_converter uses (quantization.py): `scale = (max - min)
 * / (2^bits - 1)`, `min` nudged to a multiple of `scale` so that 0 is exactly representable (pruned
 * zeros stay zeros); a constant weight gets `scale = 1` and all-zero codes.
 */
export function affineParams(values: Float32Array, levels: number): { scale: number; min: number } {
  const { lo, hi } = rangeOf(values);
  if (values.length === 0) return { scale: 1, min: 0 };
  if (lo === hi) return { scale: 1, min: lo };
  const scale = (hi - lo) / levels;
  return { scale, min: Math.round(lo / scale) * scale };
}

/**
 * Min, max and finiteness of a weight's values, once per array: the page sizes every download on each
 * plan change, and a plan keeps the arrays of the weights it does not slice, so only the sliced ones are
 * scanned again. Indexed loops: `for...of` on a typed array allocates an iterator result per element
 * until the function is optimised (1 GB of garbage on the first sizing of an InceptionV3-size model).
 */
const ranges = new WeakMap<Float32Array, { lo: number; hi: number; finite: boolean }>();
function rangeOf(values: Float32Array): { lo: number; hi: number; finite: boolean } {
  let r = ranges.get(values);
  if (r) return r;
  let lo = Infinity;
  let hi = -Infinity;
  let finite = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v - v !== 0) finite = false; // NaN and ±Infinity
  }
  ranges.set(values, (r = { lo, hi, finite }));
  return r;
}

function isFinite32(values: Float32Array): boolean {
  return rangeOf(values).finite;
}

/** The storage a weight was opened with, as a write choice. */
function storedChoice(stored: StoredWeight | undefined): TfjsQuantization {
  if (!stored || stored.dtype === 'float32' || stored.dtype === 'int32') return 'none';
  return stored.dtype;
}

/**
 * The original affine grid when every value lies on it exactly (a pruned slice of a quantized weight
 * does): writing with it reproduces the opened bytes' values bit for bit.
 */
function originalGrid(
  values: Float32Array,
  stored: StoredWeight | undefined,
  quantize: 'uint8' | 'uint16',
): { scale: number; min: number } | undefined {
  if (stored?.dtype !== quantize || stored.scale === undefined || stored.min === undefined) return undefined;
  const { scale, min } = stored;
  if (!(scale > 0) || !Number.isFinite(min)) return undefined;
  const levels = quantize === 'uint8' ? 255 : 65535;
  const f = new Float32Array(1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const q = Math.round((v - min) / scale);
    if (!(q >= 0 && q <= levels)) return undefined;
    f[0] = q * scale + min;
    if (f[0] !== v) return undefined;
  }
  return { scale, min };
}

function encoding(w: WeightTensor, quantize: TfjsQuantization | undefined, stored?: StoredWeight): Encoding {
  checkWeight(w);
  const n = w.values.length;
  const entry: ManifestWeightEntry = { name: w.name, shape: [...w.shape], dtype: w.dtype };
  const q = quantize ?? storedChoice(stored);
  if (w.dtype !== 'float32' || q === 'none') return { entry, bytes: 4 * n };
  const values = w.values as Float32Array;
  if (q === 'float16') {
    entry.quantization = { dtype: 'float16' };
    return { entry, bytes: 2 * n };
  }
  if (!isFinite32(values)) return { entry, bytes: 4 * n };
  const { scale, min } = originalGrid(values, stored, q) ?? affineParams(values, q === 'uint8' ? 255 : 65535);
  entry.quantization = { dtype: q, scale, min };
  return { entry, bytes: (q === 'uint8' ? 1 : 2) * n };
}

/** Each weight's encoding under the options. */
function encodingsOf(a: ModelArtifactsData, opts: WriteTfjsOptions): Encoding[] {
  const source = opts.source ?? sourceStorageOf(a);
  return a.weights.map((w) => encoding(w, opts.quantize, source?.weights[w.name]));
}

/**
 * What a TF.js export holds besides the weights: the topology made loadable by plain tfjs
 * (tfjs-portable.ts) and, when the model has a provenance record, the writer's name and version and
 * the notes on what was translated or dropped, in `userDefinedMetadata.prunelab.writer`.
 */
export function tfjsExportArtifacts(a: ModelArtifactsData): ModelArtifactsData {
  const { topology, notes } = tfjsPortableTopology(a.modelTopology);
  return stampWriter(
    { ...a, modelTopology: topology },
    { format: 'tfjs-layers-model', formatVersion: TFJS_FORMAT_VERSION, notes },
  );
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The IEEE 754 half nearest a float32 (ties to even), overflow to ±Infinity, NaN kept. */
export function floatToHalf(v: number): number {
  F32[0] = v;
  const x = U32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to Infinity: exactly what rounding wants.
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return half;
}

function encodeWeight(w: WeightTensor, enc: Encoding): Uint8Array {
  const q = enc.entry.quantization;
  if (!q) {
    // Typed arrays are little-endian on every platform tfjs runs on, which is what the format wants.
    return new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength);
  }
  const values = w.values as Float32Array;
  const out = new Uint8Array(enc.bytes);
  const view = new DataView(out.buffer);
  if (q.dtype === 'float16') {
    for (let i = 0; i < values.length; i++) view.setUint16(2 * i, floatToHalf(values[i]!), true);
    return out;
  }
  const levels = q.dtype === 'uint8' ? 255 : 65535;
  const scale = q.scale!;
  const min = q.min!;
  for (let i = 0; i < values.length; i++) {
    const code = Math.min(levels, Math.max(0, Math.round((values[i]! - min) / scale)));
    if (levels === 255) out[i] = code;
    else view.setUint16(2 * i, code, true);
  }
  return out;
}

function shardCount(totalBytes: number, shardBytes: number): number {
  return Math.ceil(totalBytes / shardBytes);
}

function shardNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
}

function checkShardBytes(shardBytes: number): void {
  if (!Number.isInteger(shardBytes) || shardBytes < 1) {
    throw new Error(`writeTfjsModel: shardBytes must be a positive integer, got ${shardBytes}.`);
  }
}

/** The model.json text for artifacts whose single weight group is stored in `paths`. */
function modelJsonText(a: ModelArtifactsData, paths: string[], encodings: Encoding[]): string {
  const json: TfjsModelJSON = {
    modelTopology: a.modelTopology,
    weightsManifest: a.weights.length === 0 ? [] : [{ paths, weights: encodings.map((e) => e.entry) }],
    format: a.format ?? 'layers-model',
  };
  if (a.generatedBy !== undefined) json.generatedBy = a.generatedBy;
  if (a.convertedBy !== undefined) json.convertedBy = a.convertedBy;
  if (a.userDefinedMetadata !== undefined) json.userDefinedMetadata = a.userDefinedMetadata;
  return JSON.stringify(json);
}

/**
 * Writes artifacts in the standard TF.js layout that `tf.loadLayersModel` reads: `model.json` (compact)
 * plus `group1-shard1ofN.bin`..., weights (quantized if asked) concatenated in order and cut every
 * `shardBytes`.
 */
export function writeTfjsModel(model: ModelArtifactsData, opts: WriteTfjsOptions = {}): OutputFile[] {
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  checkShardBytes(shardBytes);
  const a = tfjsExportArtifacts(model);
  const encodings = encodingsOf(model, opts);
  const parts = a.weights.map((w, i) => encodeWeight(w, encodings[i]!));
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const names = shardNames(shardCount(total, shardBytes));

  const data = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.byteLength;
  }
  const shards = names.map((path, i) => ({
    path,
    bytes: data.slice(i * shardBytes, Math.min(total, (i + 1) * shardBytes)),
  }));
  const json = {
    path: `${opts.baseName ?? 'model'}.json`,
    bytes: new TextEncoder().encode(modelJsonText(a, names, encodings)),
  };
  return [json, ...shards];
}

/**
 * Total bytes `writeTfjsModel` would write with the same options (weight data, quantized if asked, +
 * model.json), without encoding the weights: what the page shows before a download.
 */
export function tfjsModelSize(model: ModelArtifactsData, opts: WriteTfjsOptions = {}): number {
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  checkShardBytes(shardBytes);
  const a = tfjsExportArtifacts(model);
  const encodings = encodingsOf(model, opts);
  const total = encodings.reduce((n, e) => n + e.bytes, 0);
  const names = shardNames(shardCount(total, shardBytes));
  return total + new TextEncoder().encode(modelJsonText(a, names, encodings)).byteLength;
}

/**
 * The weights a reader gets back from `writeTfjsModel(a, {quantize})`, without writing files: for
 * measuring what quantization costs in accuracy before downloading, e.g.
 * `evaluate(quantizedArtifacts(pruned, 'uint8'))` against `evaluate(pruned)`.
 */
export function quantizedArtifacts(
  a: ModelArtifactsData,
  quantize: TfjsQuantization | undefined,
  source: SourceStorage | undefined = sourceStorageOf(a),
): ModelArtifactsData {
  if (quantize === 'none') return a;
  const weights = a.weights.map((w) => {
    const enc = encoding(w, quantize, source?.weights[w.name]);
    return enc.entry.quantization ? decodeWeight(enc.entry, encodeWeight(w, enc)) : w;
  });
  return { ...a, weights };
}
