/** Automatic planners: pick channels to remove from scores. */
import type { ChannelGraph, ChannelGroup } from '../graph/types';
import type { PruningPlan } from './plan';

/** Limits on how much of one group a planner removes (Torch-Pruning's `round_to` and `max_pruning_ratio`). */
export interface SelectOptions {
  /**
   * Round the kept count UP to a multiple of N (odd channel counts can make a model slower:
   * Torch-Pruning#38), so a group of N channels or fewer is left whole. Default: no rounding.
   */
  roundTo?: number;
  /** Remove at most this fraction of the group's channels (0..1). Default 1. */
  maxRatio?: number;
}

/** Options of `planLowestFraction`, on top of the per-group limits. */
export interface PlanOptions extends SelectOptions {
  /** Only these groups, each named by any of its producers. Default: every prunable group. */
  layers?: readonly string[];
  /**
   * Layers to leave alone (Torch-Pruning's `ignored_layers`): a group is skipped when one of its
   * producers or channel-wise members is named here, so these layers keep their output channels. A
   * name ending in `/` names every layer of a nested model (`'base/'`). A layer named here still
   * loses input channels when a group it only reads is pruned, as in Torch-Pruning.
   */
  ignore?: readonly string[];
}

/**
 * How many of `size` channels to remove for `fraction`: `floor(fraction * size)`, at most
 * `floor(maxRatio * size)`, never all, then the kept count rounded up to a multiple of `roundTo`.
 * Example: size 32, fraction 0.3 -> 9; with `roundTo: 8` -> 8 (keeps 24).
 */
export function removalCount(size: number, fraction: number, options: SelectOptions = {}): number {
  const clamp = (x: number | undefined, d: number) =>
    x !== undefined && Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : d;
  const f = Math.min(clamp(fraction, 0), clamp(options.maxRatio, 1));
  let count = Math.min(Math.floor(f * size + 1e-9), size - 1);
  const n = options.roundTo;
  if (n !== undefined && Number.isInteger(n) && n > 1 && count > 0) {
    const kept = Math.min(size, Math.ceil((size - count) / n) * n);
    count = size - kept;
  }
  return Math.max(0, count);
}

/**
 * Indices (ascending) of the lowest scores, `removalCount(n, fraction, options)` of them: never all,
 * at least one channel is kept. Ties go to the lower index; NaN scores count as lowest.
 * Example: `selectLowest(Float32Array.of(0.5, 0.1, 0.9, 0.3), 0.5)` is `[1, 3]`.
 */
export function selectLowest(scores: Float32Array, fraction: number, options: SelectOptions = {}): number[] {
  const n = scores.length;
  const count = removalCount(n, fraction, options);
  if (count <= 0) return [];
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    keys[i] = Number.isNaN(s) ? -Infinity : s;
  }
  // The count-th lowest key is the cut: every index below it goes, then the lowest indices at it
  // (`<` and `===` treat -0 and 0 alike, as ties).
  const cut = keys.slice().sort()[count - 1]!;
  let ties = count;
  for (let i = 0; i < n; i++) if (keys[i]! < cut) ties--;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (k < cut || (k === cut && ties-- > 0)) out.push(i);
  }
  return out;
}

function matches(names: readonly string[], layer: string): boolean {
  return names.some((n) => (n.endsWith('/') ? layer.startsWith(n) : n === layer));
}

/** Whether `ignore` names one of the group's producers or channel-wise members (a name ending in `/` names a nested model's layers). */
export function isIgnored(group: ChannelGroup, ignore: readonly string[]): boolean {
  return group.members.some((m) => m.role !== 'consumer' && matches(ignore, m.layer));
}

/**
 * A plan removing the lowest-scored `fraction` of every prunable group, keyed by `group.producer`.
 * The fourth argument is either the producers to plan for (as before) or `PlanOptions`.
 * Examples: fraction 0.5 on conv1 (8 filters) and conv2 (16) removes 4 and 8; with
 * `{roundTo: 8}` conv1 keeps 8 (removes 0) and conv2 keeps 8; with `{maxRatio: 0.25}` 2 and 4;
 * with `{ignore: ['conv1']}` only conv2 is pruned.
 */
export function planLowestFraction(
  graph: ChannelGraph,
  scores: Record<string, Float32Array>,
  fraction: number,
  layersOrOptions?: readonly string[] | PlanOptions,
): PruningPlan {
  const options: PlanOptions = Array.isArray(layersOrOptions)
    ? { layers: layersOrOptions as readonly string[] }
    : ((layersOrOptions as PlanOptions | undefined) ?? {});
  const only = options.layers
    ? new Set(options.layers.map((l) => graph.groupByProducer[l]).filter((g) => g !== undefined))
    : undefined;
  const remove: Record<string, number[]> = {};
  for (const g of graph.groups) {
    if (!g.prunable || (only && !only.has(g.id))) continue;
    if (options.ignore && isIgnored(g, options.ignore)) continue;
    const s = scores[g.producer];
    if (!s) throw new Error(`No scores for '${g.producer}'.`);
    if (s.length !== g.size) {
      throw new Error(`'${g.producer}' has ${g.size} channels but ${s.length} scores.`);
    }
    const picked = selectLowest(s, fraction, options);
    if (picked.length > 0) remove[g.producer] = picked;
  }
  const extras = [
    options.roundTo !== undefined && options.roundTo > 1 ? `kept rounded to ${options.roundTo}` : '',
    options.maxRatio !== undefined ? `at most ${+(options.maxRatio * 100).toFixed(2)}% per group` : '',
  ].filter((x) => x !== '');
  const note = `lowest ${+(fraction * 100).toFixed(2)}% per layer${extras.length > 0 ? ` (${extras.join(', ')})` : ''}`;
  return { version: 1, remove, note };
}

/**
 * A plan removing the lowest-scored `ratios[producer]` of each named group (any producer names its
 * group), e.g. the per-layer ratios `suggestRatios` reads off sensitivity curves. Groups not named,
 * unprunable or ignored are left alone; the per-group limits of `options` apply.
 * Example: `planRatios(graph, scores, {conv1: 0.5, conv2: 0.25})` removes 4 of conv1's 8 and 4 of conv2's 16.
 */
export function planRatios(
  graph: ChannelGraph,
  scores: Record<string, Float32Array>,
  ratios: Readonly<Record<string, number>>,
  options: SelectOptions & Pick<PlanOptions, 'ignore'> = {},
): PruningPlan {
  const remove: Record<string, number[]> = {};
  for (const [name, ratio] of Object.entries(ratios)) {
    const id = graph.groupByProducer[name];
    const g = id === undefined ? undefined : graph.groups[id];
    if (!g) throw new Error(`'${name}' is not a producer of the model.`);
    if (!g.prunable || (options.ignore && isIgnored(g, options.ignore)) || remove[g.producer]) continue;
    const s = scores[g.producer];
    if (!s) throw new Error(`No scores for '${g.producer}'.`);
    if (s.length !== g.size)
      throw new Error(`'${g.producer}' has ${g.size} channels but ${s.length} scores.`);
    const picked = selectLowest(s, ratio, options);
    if (picked.length > 0) remove[g.producer] = picked;
  }
  return { version: 1, remove, note: 'per-layer ratios' };
}
