import * as tf from '@tensorflow/tfjs';
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';

/** Byte size of one element of a weight dtype. */
function bytesPer(_dtype: WeightTensor['dtype']): number {
  return 4; // float32 and int32 are both 4 bytes
}

/** Concatenates the weights, in order, into the single float32/int32 buffer tfjs expects. */
export function concatWeightData(weights: readonly WeightTensor[]): ArrayBuffer {
  const total = weights.reduce((n, w) => n + w.values.length * bytesPer(w.dtype), 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const w of weights) {
    const bytes = new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength);
    out.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return out.buffer;
}

/**
 * Keras's `L2` / `L1` regularizers as the `L1L2` tfjs knows (tfjs-layers registers only `L1L2`, and
 * fails on `Unknown regularizer: L2` otherwise); the same penalty. Returns the input when nothing changes.
 */
export function tfjsCompatibleTopology<T>(value: T): T {
  const fix = (v: unknown, key: string): unknown => {
    if (Array.isArray(v)) {
      let changed = false;
      const out = v.map((x) => {
        const y = fix(x, key);
        changed ||= y !== x;
        return y;
      });
      return changed ? out : v;
    }
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Record<string, unknown>;
    const cfg = o['config'];
    if (key.endsWith('_regularizer') && (o['class_name'] === 'L2' || o['class_name'] === 'L1')) {
      const c = typeof cfg === 'object' && cfg !== null ? (cfg as Record<string, unknown>) : {};
      return { class_name: 'L1L2', config: { l1: Number(c['l1'] ?? 0), l2: Number(c['l2'] ?? 0) } };
    }
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      const y = fix(x, k);
      changed ||= y !== x;
      out[k] = y;
    }
    return changed ? out : v;
  };
  return fix(value, '') as T;
}

/** Converts our artifacts into `tf.io.ModelArtifacts` for `tf.loadLayersModel(tf.io.fromMemory(...))`. */
export function toTfArtifacts(a: ModelArtifactsData): tf.io.ModelArtifacts {
  const out: tf.io.ModelArtifacts = {
    modelTopology: tfjsCompatibleTopology(a.modelTopology),
    weightSpecs: a.weights.map((w) => ({ name: w.name, shape: [...w.shape], dtype: w.dtype })),
    weightData: concatWeightData(a.weights),
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
  };
  if (a.convertedBy !== undefined) out.convertedBy = a.convertedBy;
  if (a.userDefinedMetadata !== undefined)
    out.userDefinedMetadata = a.userDefinedMetadata as Record<string, object>;
  return out;
}

/** Loads artifacts as a live `tf.LayersModel` on the active backend. The caller owns (disposes) it. */
export async function loadLayersModelFromArtifacts(a: ModelArtifactsData): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory(toTfArtifacts(a)));
}

/** Splits tfjs' saved weight buffer back into decoded weights (float32/int32 only, as tfjs saves). */
function splitWeightData(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): WeightTensor[] {
  let offset = 0;
  return specs.map((s) => {
    const n = s.shape.reduce((p, d) => p * d, 1);
    const bytes = data.slice(offset, offset + n * 4);
    offset += n * 4;
    const dtype = s.dtype === 'int32' ? 'int32' : 'float32';
    return {
      name: s.name,
      shape: [...s.shape],
      dtype,
      values: dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes),
    };
  });
}

/** Snapshots a live `tf.LayersModel` (e.g. after fine-tuning or training) into artifacts. */
export async function artifactsFromLayersModel(model: tf.LayersModel): Promise<ModelArtifactsData> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
  if (!saved?.weightSpecs || !saved.weightData) throw new Error('Model saved no weights.');
  const data = Array.isArray(saved.weightData)
    ? tf.io.concatenateArrayBuffers(saved.weightData)
    : saved.weightData;
  const out: ModelArtifactsData = {
    modelTopology: saved.modelTopology as unknown as ModelArtifactsData['modelTopology'],
    weights: splitWeightData(saved.weightSpecs, data),
    format: saved.format ?? 'layers-model',
    generatedBy: saved.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: saved.convertedBy ?? null,
  };
  if (saved.userDefinedMetadata) out.userDefinedMetadata = saved.userDefinedMetadata;
  return out;
}
