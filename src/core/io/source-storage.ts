/**
 * How the opened model's weights were stored, so that an export keeps the user's form: a TF.js model
 * quantized to uint8 comes back as uint8, float16 as float16 (issue 11). The loader records it on the
 * artifacts as an optional `source` field (plain data: it crosses the worker boundary with them);
 * surgery and fine-tuning make new artifacts without it, so callers pass the opened model's record to
 * the writers (`writeTfjsModel(pruned, {source: sourceStorageOf(opened)})`).
 *
 * Example: a converter's `--quantize_uint8` model.json gives
 * `{format: 'tfjs-layers', bytes: 2_874_113, weights: {'Conv1/kernel': {dtype: 'uint8', scale, min}, ...}}`
 * and `defaultQuantization(...)` is `'uint8'`.
 */
import type { ModelArtifactsData } from '../ir/artifacts';

/** How one weight was stored in the opened file: its dtype there, and uint8/uint16's affine parameters. */
export interface StoredWeight {
  dtype: 'float32' | 'int32' | 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
}

/** Weight storage of a TF.js export: 4, 2, 1 or 2 bytes per float weight. */
export type TfjsQuantization = 'none' | 'float16' | 'uint8' | 'uint16';

/** The opened model's storage: format, bytes of the files it was read from, and each weight's storage by name. */
export interface SourceStorage {
  /** The format plug-in's id, e.g. `tfjs-layers`. */
  format: string;
  /** Bytes of the files the model was read from (model.json + its shards; the .h5 or .keras file). */
  bytes: number;
  weights: Record<string, StoredWeight>;
}

type WithSource = ModelArtifactsData & { source?: SourceStorage };

/** The storage record the loader put on opened artifacts, if any. */
export function sourceStorageOf(a: ModelArtifactsData): SourceStorage | undefined {
  const s = (a as WithSource).source;
  return typeof s === 'object' && s !== null && typeof s.weights === 'object' ? s : undefined;
}

/**
 * The same artifacts (a shallow copy) carrying a storage record. The field is not enumerable: it
 * describes the opened files, not the model, so comparing two models' artifacts ignores it, and
 * copies (`{...a}`, surgery, a worker's structured clone) leave it behind; callers keep the opened
 * artifacts to read it (the page re-reads it from the files, `readSourceStorage`).
 */
export function withSourceStorage(a: ModelArtifactsData, source: SourceStorage): ModelArtifactsData {
  return attachSourceStorage({ ...a }, source);
}

/** Puts the storage record on these very artifacts (not enumerable, see `withSourceStorage`); returns them. */
export function attachSourceStorage<T extends ModelArtifactsData>(a: T, source: SourceStorage): T {
  Object.defineProperty(a, 'source', {
    value: source,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return a;
}

/**
 * The one TF.js storage that describes the opened model's float weights, for a menu default: the
 * quantization most of them were stored in (`'none'` for float32, for a Keras file and without a record).
 */
export function defaultQuantization(source: SourceStorage | undefined): TfjsQuantization {
  if (!source) return 'none';
  const counts = new Map<TfjsQuantization, number>();
  for (const w of Object.values(source.weights)) {
    if (w.dtype === 'int32') continue;
    const q: TfjsQuantization = w.dtype === 'float32' ? 'none' : w.dtype;
    counts.set(q, (counts.get(q) ?? 0) + 1);
  }
  let best: TfjsQuantization = 'none';
  let most = 0;
  for (const [q, n] of counts) {
    if (n > most) {
      best = q;
      most = n;
    }
  }
  return best;
}

/** Total bytes of files, the figure exports are compared with. */
export function filesBytes(files: readonly { bytes: Uint8Array }[]): number {
  return files.reduce((n, f) => n + f.bytes.byteLength, 0);
}
