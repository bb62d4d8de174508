/**
 * FPGM, filter pruning via the geometric median (He et al., CVPR 2019): a filter close to the
 * geometric median of its layer's filters is the one the others can best stand in for. As in
 * Torch-Pruning's `FPGMImportance`, the importance of filter j is `sum over k of ||W_j - W_k||_2`:
 * low = near the median = redundant = pruned first. Plain loops over the decoded weights: no tfjs.
 */
import type { WeightValues } from './magnitude';

/**
 * The slices of `w` along `axis` as rows of one `[size, d]` array (row j = filter j, entries in
 * row-major order of the other axes), so that dot products read contiguous memory.
 */
function rowsOnAxis(w: WeightValues, axis: number): { rows: Float32Array; size: number; d: number } {
  const size = w.shape[axis];
  if (size === undefined)
    throw new Error(`Axis ${axis} is outside a weight of shape [${w.shape.join(', ')}].`);
  const inner = w.shape.slice(axis + 1).reduce((p, n) => p * n, 1);
  const d = size === 0 ? 0 : w.values.length / size;
  const rows = new Float32Array(w.values.length);
  // Entry i sits on channel floor(i / inner) % size; block b of `inner` entries is (outer o, channel c).
  const v = w.values;
  let i = 0;
  let o = 0;
  while (i < v.length) {
    for (let c = 0; c < size; c++) {
      const base = c * d + o * inner;
      for (let t = 0; t < inner; t++) rows[base + t] = v[i++]!;
    }
    o++;
  }
  return { rows, size, d };
}

/**
 * FPGM importance of each slice along `axis`: `sum over k of ||W_j - W_k||_2`. Example: three
 * one-weight filters `[0, 1, 3]` give `[1 + 3, 1 + 2, 3 + 2] = [4, 3, 5]`: the middle one, the
 * median, is the most redundant. Distances come from the Gram matrix,
 * `||a - b||^2 = |a|^2 + |b|^2 - 2 a.b` (accumulated in float64, clamped at 0), four rows at a time
 * so each row k is read once per four dot products: O(size^2 * d / 2), about 0.5 s for MobileNetV2's
 * 1280 x 320 `Conv_1` kernel.
 */
export function fpgmScores(w: WeightValues, axis: number): Float32Array {
  const { rows, size, d } = rowsOnAxis(w, axis);
  const norms = new Float64Array(size);
  for (let j = 0; j < size; j++) {
    let s = 0;
    for (let t = j * d, end = t + d; t < end; t++) s += rows[t]! * rows[t]!;
    norms[j] = s;
  }
  const acc = new Float64Array(size);
  const add = (j: number, k: number, dot: number) => {
    const dist = Math.sqrt(Math.max(0, norms[j]! + norms[k]! - 2 * dot));
    acc[j]! += dist;
    acc[k]! += dist;
  };
  for (let j = 0; j < size; j += 4) {
    const rowsInBlock = Math.min(4, size - j);
    // Pairs inside the block.
    for (let a = j; a < j + rowsInBlock; a++) {
      for (let b = a + 1; b < j + rowsInBlock; b++) {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += rows[a * d + t]! * rows[b * d + t]!;
        add(a, b, dot);
      }
    }
    if (rowsInBlock < 4) {
      for (let k = j + rowsInBlock; k < size; k++) {
        for (let a = j; a < j + rowsInBlock; a++) {
          let dot = 0;
          for (let t = 0; t < d; t++) dot += rows[a * d + t]! * rows[k * d + t]!;
          add(a, k, dot);
        }
      }
      continue;
    }
    const r0 = j * d;
    const r1 = r0 + d;
    const r2 = r1 + d;
    const r3 = r2 + d;
    for (let k = j + 4; k < size; k++) {
      const rk = k * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < d; t++) {
        const x = rows[rk + t]!;
        s0 += rows[r0 + t]! * x;
        s1 += rows[r1 + t]! * x;
        s2 += rows[r2 + t]! * x;
        s3 += rows[r3 + t]! * x;
      }
      add(j, k, s0);
      add(j + 1, k, s1);
      add(j + 2, k, s2);
      add(j + 3, k, s3);
    }
  }
  return Float32Array.from(acc);
}
