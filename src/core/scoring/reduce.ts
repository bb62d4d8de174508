import type { GroupReduction } from './types';

/**
 * Combines per-layer scores of one group channel by channel: sum, mean or max of the terms.
 * Example: terms `[1, 5]` and `[3, 1]` give sum `[4, 6]`, mean `[2, 3]`, max `[3, 5]`; one term is returned as is.
 */
export function reduceTerms(
  terms: readonly Float32Array[],
  reduction: GroupReduction,
  size: number,
): Float32Array {
  if (terms.length === 1) return terms[0]!;
  const acc = new Float64Array(size).fill(reduction === 'max' ? -Infinity : 0);
  for (const t of terms) {
    for (let i = 0; i < size; i++) {
      const v = t[i]!;
      acc[i] = reduction === 'max' ? Math.max(acc[i]!, v) : acc[i]! + v;
    }
  }
  if (reduction === 'mean' && terms.length > 0) for (let i = 0; i < size; i++) acc[i]! /= terms.length;
  if (terms.length === 0) acc.fill(Number.NaN);
  return Float32Array.from(acc);
}
