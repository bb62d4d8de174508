/**
 * Magnitude criteria (Li et al., Pruning Filters for Efficient ConvNets, ICLR 2017): a filter's
 * importance is the norm of its kernel slice. Plain loops over the decoded Float32Array: no tfjs.
 */

/** A weight's values in row-major order of `shape` (a `WeightTensor` fits). */
export interface WeightValues {
  values: Float32Array | Int32Array;
  shape: readonly number[];
}

/**
 * Sums `f(value)` per slice along `axis`. Row-major: entry i sits on channel `floor(i / inner) % size`
 * with `inner` the product of the later dims; walking blocks of `inner` avoids a division per entry.
 */
function sumOnAxis(w: WeightValues, axis: number, square: boolean): Float64Array {
  const size = w.shape[axis];
  if (size === undefined)
    throw new Error(`Axis ${axis} is outside a weight of shape [${w.shape.join(', ')}].`);
  const inner = w.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const v = w.values;
  const acc = new Float64Array(size);
  if (inner === 1 && size > 0) {
    // The axis is the last one (a Conv2D or Dense kernel's out axis): each row of `size` entries adds
    // one value to every channel. Four rows a pass, added left to right, build each channel's sum in
    // exactly the order of the blocks below, with a quarter of the reads and writes of `acc`.
    const n = v.length;
    const step = 4 * size;
    let row = 0;
    if (square) {
      for (; row + step <= n; row += step) {
        const r1 = row + size;
        const r2 = r1 + size;
        const r3 = r2 + size;
        for (let c = 0; c < size; c++) {
          const a = v[row + c]!;
          const b = v[r1 + c]!;
          const d = v[r2 + c]!;
          const e = v[r3 + c]!;
          acc[c] = acc[c]! + a * a + b * b + d * d + e * e;
        }
      }
      for (; row < n; row += size) for (let c = 0; c < size; c++) acc[c]! += v[row + c]! * v[row + c]!;
    } else {
      for (; row + step <= n; row += step) {
        const r1 = row + size;
        const r2 = r1 + size;
        const r3 = r2 + size;
        for (let c = 0; c < size; c++) {
          acc[c] =
            acc[c]! +
            Math.abs(v[row + c]!) +
            Math.abs(v[r1 + c]!) +
            Math.abs(v[r2 + c]!) +
            Math.abs(v[r3 + c]!);
        }
      }
      for (; row < n; row += size) for (let c = 0; c < size; c++) acc[c]! += Math.abs(v[row + c]!);
    }
    return acc;
  }
  let i = 0;
  while (i < v.length) {
    for (let c = 0; c < size; c++) {
      let s = 0;
      const end = i + inner;
      if (square) {
        for (; i < end; i++) s += v[i]! * v[i]!;
      } else {
        for (; i < end; i++) s += Math.abs(v[i]!);
      }
      acc[c]! += s;
    }
  }
  return acc;
}

/**
 * L1 norm of each slice along `axis`: `sum |W_j|`. Example: kernel `[1, 1, 2, 2]` (in 2, out 2)
 * with values `[1, -2, 3, 4]` gives, on axis 3, `[|1| + |3|, |-2| + |4|] = [4, 6]`.
 */
export function l1Norms(w: WeightValues, axis: number): Float32Array {
  return Float32Array.from(sumOnAxis(w, axis, false));
}

/** L2 norm of each slice along `axis`: `sqrt(sum W_j^2)`; the example above gives `[sqrt(10), sqrt(20)]`. */
export function l2Norms(w: WeightValues, axis: number): Float32Array {
  return Float32Array.from(sumOnAxis(w, axis, true), Math.sqrt);
}
