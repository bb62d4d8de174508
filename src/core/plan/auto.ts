/** Automatic planners: pick channels to remove from scores. */
import type { ChannelGraph } from '../graph/types';
import type { PruningPlan } from './plan';

/**
 * Indices (ascending) of the `floor(fraction * n)` lowest scores, never all: at least one channel is
 * kept. Ties go to the lower index; NaN scores count as lowest.
 * Example: `selectLowest(Float32Array.of(0.5, 0.1, 0.9, 0.3), 0.5)` is `[1, 3]`.
 */
export function selectLowest(scores: Float32Array, fraction: number): number[] {
  const n = scores.length;
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const count = Math.min(Math.floor(f * n + 1e-9), n - 1);
  if (count <= 0) return [];
  const key = (i: number) => {
    const s = scores[i]!;
    return Number.isNaN(s) ? -Infinity : s;
  };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => key(a) - key(b) || a - b);
  return order.slice(0, count).sort((a, b) => a - b);
}

/**
 * A plan removing the lowest-scored `fraction` of every prunable group (or only the producers named
 * in `layers`). Example: fraction 0.5 on conv1 (8 filters) and conv2 (16) removes 4 and 8.
 */
export function planLowestFraction(
  graph: ChannelGraph,
  scores: Record<string, Float32Array>,
  fraction: number,
  layers?: readonly string[],
): PruningPlan {
  const only = layers ? new Set(layers) : undefined;
  const remove: Record<string, number[]> = {};
  for (const g of graph.groups) {
    if (!g.prunable || (only && !only.has(g.producer))) continue;
    const s = scores[g.producer];
    if (!s) throw new Error(`No scores for '${g.producer}'.`);
    if (s.length !== g.size) {
      throw new Error(`'${g.producer}' has ${g.size} channels but ${s.length} scores.`);
    }
    const picked = selectLowest(s, fraction);
    if (picked.length > 0) remove[g.producer] = picked;
  }
  return { version: 1, remove, note: `lowest ${+(fraction * 100).toFixed(2)}% per layer` };
}
