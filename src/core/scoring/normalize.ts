/**
 * Normalisers that make scores of different layers comparable, so one global ranking can cut the
 * least important channels anywhere in the model. Raw L1 norms grow with a layer's fan-in (a 3x3x512
 * filter outweighs a 3x3x3 one), so a global threshold on raw scores empties the thin layers first.
 */

/** How scores are rescaled, group by group, before a global ranking. */
export type Normalization = 'none' | 'mean' | 'lamp';

/** The normalisers, for menus and `--normalize`. */
export const NORMALIZATIONS: readonly { id: Normalization; label: string; description: string }[] = [
  { id: 'none', label: 'None', description: 'Raw scores: only meaningful within one layer.' },
  {
    id: 'mean',
    label: 'Per-layer mean',
    description: "Each group's scores divided by their mean (Distiller, Torch-Pruning's default).",
  },
  {
    id: 'lamp',
    label: 'LAMP',
    description:
      'Layer-adaptive magnitude: squared score over the sum of the squared scores at least as large (Lee et al., ICLR 2021).',
  },
];

/**
 * Divides by the mean: `[1, 2, 3]` becomes `[0.5, 1, 1.5]`. A group whose mean is 0 (or not
 * finite) becomes all zeros, so a dead layer ranks lowest rather than producing NaNs.
 */
export function meanNormalize(s: Float32Array): Float32Array {
  let sum = 0;
  for (const v of s) sum += v;
  const mean = s.length > 0 ? sum / s.length : 0;
  if (!(mean !== 0 && Number.isFinite(mean))) return new Float32Array(s.length);
  return Float32Array.from(s, (v) => v / mean);
}

/**
 * LAMP (Lee et al., ICLR 2021, eq. 2): with the squared scores sorted ascending, `u`'s score is
 * `s_u^2 / sum over v >= u of s_v^2`, where `v >= u` are the entries at least as large as u (ties
 * broken by index, as a stable sort would). The largest of each group is 1, whatever the layer's
 * scale. Example: `[1, 2, 3]` -> squares `[1, 4, 9]` -> `[1/14, 4/13, 9/9]`. NaN stays NaN; a
 * group of zeros stays zeros.
 */
export function lampNormalize(s: Float32Array): Float32Array {
  const n = s.length;
  const key = (i: number) => (Number.isNaN(s[i]!) ? -Infinity : s[i]! * s[i]!);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => key(a) - key(b) || a - b);
  const out = new Float32Array(n);
  let suffix = 0;
  for (let r = n - 1; r >= 0; r--) {
    const i = order[r]!;
    const v = s[i]!;
    if (Number.isNaN(v)) {
      out[i] = Number.NaN;
      continue;
    }
    const sq = v * v;
    suffix += sq;
    out[i] = suffix > 0 ? sq / suffix : 0;
  }
  return out;
}

/**
 * Normalises every group's scores (keyed by producer, as `scoreGroups` returns them) for a global
 * ranking; returns new arrays, the input is left as it is. `'none'` copies.
 * Example: `normalizeScores({a: [1, 2, 3], b: [10, 30]}, 'mean')` is `{a: [0.5, 1, 1.5], b: [0.5, 1.5]}`.
 */
export function normalizeScores(
  scores: Readonly<Record<string, Float32Array>>,
  method: Normalization,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [producer, s] of Object.entries(scores)) {
    out[producer] =
      method === 'mean' ? meanNormalize(s) : method === 'lamp' ? lampNormalize(s) : Float32Array.from(s);
  }
  return out;
}
