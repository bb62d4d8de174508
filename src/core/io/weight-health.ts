/**
 * Weight health: which layers hold NaN or infinite weights. Such a model still opens (its structure is
 * fine, and magnitude scores simply rank the broken filters), but anything that runs it on data is
 * meaningless, so data-based criteria refuse it and `inspect`, `prune` and the page name the layers.
 */
import type { ModelArtifactsData } from '../ir/artifacts';

/** One weight with non-finite values: its layer (manifest prefix), its name, and how many NaN / ±Inf. */
export interface NonFiniteWeight {
  layer: string;
  weight: string;
  nan: number;
  inf: number;
}

/** The layer a manifest weight name belongs to: `conv1/kernel` -> `conv1`, `base/conv1/kernel:0` -> `base/conv1`. */
function layerOf(name: string): string {
  const parts = name.replace(/:\d+$/, '').split('/');
  if (parts.length <= 1) return parts[0] ?? name;
  // Keras 3 `layers/conv/vars/0`: drop the `layers` / `vars` segments and the index.
  const bare = parts.slice(0, -1).filter((s) => s !== 'layers' && s !== 'vars');
  return bare.length > 0 ? bare.join('/') : parts.slice(0, -1).join('/');
}

/** Values screened at once by `nonFiniteWeights` before it counts one by one. */
const SCREEN_CHUNK = 4096;

/**
 * Every float weight holding NaN or ±Infinity, in manifest order, with its counts; `[]` for a healthy
 * model. Example: `[{layer: 'conv1', weight: 'conv1/kernel', nan: 3, inf: 0}]`.
 */
export function nonFiniteWeights(artifacts: ModelArtifactsData): NonFiniteWeight[] {
  const out: NonFiniteWeight[] = [];
  for (const w of artifacts.weights) {
    if (!(w.values instanceof Float32Array)) continue; // int32 values are always finite
    let nan = 0;
    let inf = 0;
    const v = w.values;
    // Screen a chunk at a time: `x * 0` is ±0 for a finite x and NaN for NaN or ±Inf, so a chunk's sum
    // is 0 exactly when all its values are finite (four sums keep the adds independent). Only a chunk
    // that fails is counted value by value.
    for (let start = 0; start < v.length; start += SCREEN_CHUNK) {
      const end = Math.min(v.length, start + SCREEN_CHUNK);
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let i = start;
      for (; i + 3 < end; i += 4) {
        s0 += v[i]! * 0;
        s1 += v[i + 1]! * 0;
        s2 += v[i + 2]! * 0;
        s3 += v[i + 3]! * 0;
      }
      for (; i < end; i++) s0 += v[i]! * 0;
      if (s0 + s1 + s2 + s3 === 0) continue;
      for (let j = start; j < end; j++) {
        const x = v[j]!;
        if (x - x !== 0) {
          if (Number.isNaN(x)) nan++;
          else inf++;
        }
      }
    }
    if (nan > 0 || inf > 0) out.push({ layer: layerOf(w.name), weight: w.name, nan, inf });
  }
  return out;
}

/** A one-line summary naming the layers, e.g. `conv1 (3 NaN), dense (1 Inf)`; at most `limit` layers listed. */
export function describeNonFinite(list: readonly NonFiniteWeight[], limit = 5): string {
  const byLayer = new Map<string, { nan: number; inf: number }>();
  for (const w of list) {
    const t = byLayer.get(w.layer) ?? { nan: 0, inf: 0 };
    t.nan += w.nan;
    t.inf += w.inf;
    byLayer.set(w.layer, t);
  }
  const parts = [...byLayer].map(([layer, t]) => {
    const what = [t.nan > 0 ? `${t.nan} NaN` : '', t.inf > 0 ? `${t.inf} Inf` : '']
      .filter(Boolean)
      .join(', ');
    return `${layer} (${what})`;
  });
  const more = parts.length > limit ? ` and ${parts.length - limit} more` : '';
  return parts.slice(0, limit).join(', ') + more;
}
