import type { ModelArtifactsData, OutputFile, WeightTensor } from '../ir/artifacts';
import type { TfjsModelJSON } from '../ir/keras-json';
import { elementCount } from './dequantize';

/** tfjs-converter's default shard size (`--weight_shard_size_bytes`): 4 MiB. */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface WriteTfjsOptions {
  /** Largest shard file, in bytes; weights are split across shards at any byte, as tfjs does. */
  shardBytes?: number;
  /** The JSON's name without `.json` (default `model`); shards keep the standard `group1-shardKofN.bin`. */
  baseName?: string;
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

function weightBytes(w: WeightTensor): Uint8Array {
  const n = elementCount(w.shape);
  const typed = w.dtype === 'int32' ? w.values instanceof Int32Array : w.values instanceof Float32Array;
  if (w.values.length !== n || !typed) {
    throw new Error(
      `writeTfjsModel: weight '${w.name}' has ${w.values.length} ${w.values.constructor.name} values but shape ` +
        `${JSON.stringify(w.shape)} (${w.dtype}) needs ${n}.`,
    );
  }
  // Typed arrays are little-endian on every platform tfjs runs on, which is what the format wants.
  return new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength);
}

/** The model.json text for artifacts whose single weight group is stored in `paths`. */
function modelJsonText(a: ModelArtifactsData, paths: string[]): string {
  const json: TfjsModelJSON = {
    modelTopology: a.modelTopology,
    weightsManifest:
      a.weights.length === 0
        ? []
        : [{ paths, weights: a.weights.map((w) => ({ name: w.name, shape: [...w.shape], dtype: w.dtype })) }],
    format: a.format ?? 'layers-model',
  };
  if (a.generatedBy !== undefined) json.generatedBy = a.generatedBy;
  if (a.convertedBy !== undefined) json.convertedBy = a.convertedBy;
  if (a.userDefinedMetadata !== undefined) json.userDefinedMetadata = a.userDefinedMetadata;
  return JSON.stringify(json);
}

/**
 * Writes artifacts in the standard TF.js layout that `tf.loadLayersModel` reads: `model.json` (compact)
 * plus `group1-shard1ofN.bin`..., float32/int32 weights concatenated in order and cut every `shardBytes`.
 */
export function writeTfjsModel(a: ModelArtifactsData, opts: WriteTfjsOptions = {}): OutputFile[] {
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  checkShardBytes(shardBytes);
  const parts = a.weights.map(weightBytes);
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
    bytes: new TextEncoder().encode(modelJsonText(a, names)),
  };
  return [json, ...shards];
}

/** Total bytes `writeTfjsModel` would write (weight data + model.json), without copying the weights. */
export function tfjsModelSize(a: ModelArtifactsData, opts: WriteTfjsOptions = {}): number {
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  checkShardBytes(shardBytes);
  const total = a.weights.reduce((n, w) => n + weightBytes(w).byteLength, 0);
  return (
    total + new TextEncoder().encode(modelJsonText(a, shardNames(shardCount(total, shardBytes)))).byteLength
  );
}
