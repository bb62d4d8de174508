/**
 * Global pruning to a budget: rank every prunable channel of the model by its (normalised) score and
 * remove the lowest until a target share of parameters, FLOPs or channels is gone (Torch-Pruning's
 * `global_pruning`, Distiller's global ranking). Scores must be comparable across layers: normalise
 * them first (`normalizeScores(scores, 'mean' | 'lamp')`), or the thin layers empty first.
 */
import type { ChannelGraph, ChannelGroup } from '../graph/types';
import type { CostModel } from '../metrics/costs';
import { isIgnored, removalCount, type PlanOptions } from './auto';
import type { PruningPlan } from './plan';

/** What the target fraction is a fraction of. */
export interface GlobalTarget {
  /**
   * `params` / `flops`: of the whole model's parameters / FLOPs (cost model, `metrics/costs.ts`);
   * `channels`: of the channels of the groups the planner may prune (prunable, not ignored).
   */
  kind: 'params' | 'flops' | 'channels';
  /** Share to remove, 0..1: `{kind: 'flops', fraction: 0.5}` halves the FLOPs. */
  fraction: number;
}

/**
 * Options of `planGlobal`: the per-group limits and filters of `planLowestFraction`, plus where kept
 * counts should land.
 */
export interface GlobalPlanOptions extends PlanOptions {
  /**
   * Preferred multiple for kept channel counts (default `DEFAULT_ALIGN`, 8; 1: off, the plain ranking).
   * SIMD kernels compute output channels in tiles: on wasm (XNNPACK) a convolution with 17 output
   * channels takes as long as one with 24. A group the plan cuts to a count between two multiples is
   * moved to the nearer multiple in ranking terms (remove a few more channels, or keep a few more),
   * but only across channels ranked within `alignBand` of the plan's threshold, so it trades nearly
   * equal scores only; the target is still met, by the same search. Unlike `roundTo` it is a
   * preference, not a rule: a group whose neighbouring multiples lie outside the band keeps its count,
   * and a group the plan leaves whole stays whole. Ignored when `roundTo` is set.
   */
  align?: number;
  /**
   * How far from the threshold, as a share of all ranked steps, a channel may be ranked and still
   * count as nearly equal for `align` (default `DEFAULT_ALIGN_BAND`, 0.02: 2% of the ranking).
   */
  alignBand?: number;
}

/** Default `align`: the output-channel tile of wasm's (XNNPACK) f32 GEMM kernels, measured (see `align`). */
export const DEFAULT_ALIGN = 8;
/** Default `alignBand`: 2% of the global ranking either side of the threshold. */
export const DEFAULT_ALIGN_BAND = 0.02;

/** Figures of a model: parameters, FLOPs, and channels of the groups the planner may prune. */
export interface GlobalFigures {
  params: number;
  flops: number;
  channels: number;
}

/** A global plan and, before applying it, what it reaches. */
export interface GlobalPlanResult {
  plan: PruningPlan;
  /** The pruned model's parameters, FLOPs and prunable channels (`costModel.evaluate(plan)`). */
  reached: GlobalFigures;
  /** The same figures for the model as it is. */
  baseline: GlobalFigures;
  /** Share of each figure removed, 0..1. */
  removed: GlobalFigures;
  /** False when the limits (maxRatio, roundTo, one channel kept per group) stop short of the target. */
  met: boolean;
}

/**
 * A unit the planner removes at once: channels `from..to-1` (in ascending score order) of one group.
 * One channel without `roundTo`; with it, the channels between two allowed kept counts.
 */
export interface Step {
  group: number;
  to: number;
  /** The highest score among the step's channels: the threshold at which it goes. */
  score: number;
}

/** A score to sort by: NaN and missing scores first. */
export function key(v: number | undefined): number {
  return v === undefined || Number.isNaN(v) ? -Infinity : v;
}

/**
 * The removal counts a group may take, ascending: every count up to the cap (maxRatio, at least one
 * kept) whose kept count is a multiple of `roundTo`. Example: size 10, roundTo 4, no cap -> [2, 6].
 */
function allowedCounts(size: number, options: PlanOptions): number[] {
  const cap = removalCount(size, 1, options);
  const n =
    options.roundTo !== undefined && Number.isInteger(options.roundTo) && options.roundTo > 1
      ? options.roundTo
      : 1;
  const out: number[] = [];
  for (let k = 1; k <= cap; k++) if ((size - k) % n === 0) out.push(k);
  return out;
}

/**
 * A plan that removes the globally lowest-scored channels until `target` is met: the smallest prefix
 * of the global ranking (all steps of all eligible groups, by score, ties by group order) whose
 * removal reaches the target fraction, so it overshoots by less than one step (one channel, or one
 * block of `roundTo`). Never empties a group; respects `maxRatio` and `roundTo` per group (a group of
 * `roundTo` channels or fewer is left whole), and `ignore`/`layers` like `planLowestFraction`.
 * Params and FLOPs come from the cost model with a binary search over the prefix length (they only
 * shrink as channels go): about 15 evaluations of microseconds each on InceptionV3.
 * Example: `planGlobal(graph, normalizeScores(scores, 'lamp'), makeCostModel(ir, graph),
 * {kind: 'flops', fraction: 0.5}, {maxRatio: 0.8, roundTo: 8})`.
 */
export function planGlobal(
  graph: ChannelGraph,
  scores: Readonly<Record<string, Float32Array>>,
  costModel: CostModel,
  target: GlobalTarget,
  options: GlobalPlanOptions = {},
): GlobalPlanResult {
  const only = options.layers
    ? new Set(options.layers.map((l) => graph.groupByProducer[l]).filter((g) => g !== undefined))
    : undefined;
  const eligible: ChannelGroup[] = graph.groups.filter(
    (g) => g.prunable && !(only && !only.has(g.id)) && !(options.ignore && isIgnored(g, options.ignore)),
  );
  // Per eligible group: channel order by ascending score (ties to the lower index, NaN lowest), and its steps.
  const orders = new Map<number, number[]>();
  const steps: Step[] = [];
  for (const g of eligible) {
    const s = scores[g.producer];
    if (!s) throw new Error(`No scores for '${g.producer}'.`);
    if (s.length !== g.size)
      throw new Error(`'${g.producer}' has ${g.size} channels but ${s.length} scores.`);
    const order = Array.from({ length: g.size }, (_, i) => i).sort((a, b) => key(s[a]) - key(s[b]) || a - b);
    orders.set(g.id, order);
    for (const to of allowedCounts(g.size, options)) {
      steps.push({ group: g.id, to, score: key(s[order[to - 1]!]) });
    }
  }
  const rank = new Map(eligible.map((g, i) => [g.id, i]));
  // Stable within a group (its steps are pushed in ascending `to`, with non-decreasing scores).
  steps.sort((a, b) => a.score - b.score || rank.get(a.group)! - rank.get(b.group)! || a.to - b.to);

  const rawCounts = (length: number): Map<number, number> => {
    const m = new Map<number, number>();
    for (let i = 0; i < length; i++) {
      const st = steps[i]!;
      m.set(st.group, Math.max(m.get(st.group) ?? 0, st.to));
    }
    return m;
  };
  // Alignment (see `GlobalPlanOptions.align`): only where every count is a step (no `roundTo`).
  const rounding = options.roundTo !== undefined && Number.isInteger(options.roundTo) && options.roundTo > 1;
  const align =
    !rounding && options.align === undefined
      ? DEFAULT_ALIGN
      : !rounding && Number.isInteger(options.align) && options.align! > 1
        ? options.align!
        : 1;
  const band = Math.floor(
    Math.max(0, Number.isFinite(options.alignBand) ? options.alignBand! : DEFAULT_ALIGN_BAND) * steps.length,
  );
  // Position in the ranking of each group's step to `to` channels removed (index `to`).
  const position = new Map<number, Int32Array>();
  if (align > 1) {
    for (const g of eligible) position.set(g.id, new Int32Array(g.size + 1).fill(-1));
    steps.forEach((st, i) => (position.get(st.group)![st.to] = i));
  }
  /** `rawCounts(length)` with each cut group moved to a multiple of `align` across nearly equal ranks. */
  const alignedCounts = (length: number): Map<number, number> => {
    const m = rawCounts(length);
    for (const [id, removed] of m) {
      const size = graph.groups[id]!.size;
      const kept = size - removed;
      const r = kept % align;
      if (r === 0) continue;
      const pos = position.get(id)!;
      // Down: remove the next `r` channels of the group, when the last of them is ranked within the band.
      const down = kept - r >= align ? pos[size - kept + r] : -1;
      const dDown = down !== undefined && down >= 0 && down < length + band ? down - length + 1 : Infinity;
      // Up: keep `align - r` more, when the lowest ranked of those given back is within the band.
      const upRemoved = removed - (align - r);
      const dUp =
        upRemoved >= 0 && pos[upRemoved + 1]! >= length - band ? length - pos[upRemoved + 1]! : Infinity;
      if (dDown === Infinity && dUp === Infinity) continue;
      const to = dDown <= dUp ? removed + r : upRemoved;
      if (to > 0) m.set(id, to);
      else m.delete(id);
    }
    return m;
  };
  const planOf = (m: Map<number, number>): PruningPlan => {
    const remove: Record<string, number[]> = {};
    for (const [id, count] of m) {
      const g = graph.groups[id]!;
      remove[g.producer] = orders
        .get(id)!
        .slice(0, count)
        .sort((a, b) => a - b);
    }
    return { version: 1, remove };
  };
  const channelsOf = (m: Map<number, number>): number => {
    let n = 0;
    for (const c of m.values()) n += c;
    return n;
  };

  const base = costModel.evaluate({ version: 1, remove: {} });
  const baseline: GlobalFigures = {
    params: base.params,
    flops: base.flops,
    channels: eligible.reduce((n, g) => n + g.size, 0),
  };
  const removedShare = (m: Map<number, number>): number => {
    if (target.kind === 'channels') return baseline.channels > 0 ? channelsOf(m) / baseline.channels : 0;
    const c = costModel.evaluate(planOf(m));
    const [now, was] = target.kind === 'params' ? [c.params, base.params] : [c.flops, base.flops];
    return was > 0 ? (was - now) / was : 0;
  };
  const goal = Number.isFinite(target.fraction) ? Math.min(1, Math.max(0, target.fraction)) : 0;
  const reaches = (m: Map<number, number>) => removedShare(m) >= goal - 1e-12;
  /** Smallest prefix length whose counts reach the goal, by bisection (exact when reaching is monotone). */
  const search = (countsOf: (length: number) => Map<number, number>): number => {
    let lo = 0;
    let hi = steps.length;
    if (goal <= 0) return 0;
    if (!reaches(countsOf(hi))) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (reaches(countsOf(mid))) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  // The plain ranking: removedShare never decreases with the prefix length, so bisection is exact.
  let chosen = rawCounts(search(rawCounts));
  if (align > 1 && goal > 0 && reaches(chosen)) {
    // Aligned counts are not monotone in the prefix length everywhere (a group may round up, then
    // down): bisect, then step on a little until the goal is reached; keep the plain plan otherwise.
    let length = search(alignedCounts);
    for (let i = 0; i < 64 && length < steps.length && !reaches(alignedCounts(length)); i++) length++;
    const m = alignedCounts(length);
    if (reaches(m)) chosen = m;
  }
  const plan = planOf(chosen);
  const c = costModel.evaluate(plan);
  const reached: GlobalFigures = {
    params: c.params,
    flops: c.flops,
    channels: baseline.channels - channelsOf(chosen),
  };
  const share = (a: number, b: number) => (b > 0 ? (b - a) / b : 0);
  const removed: GlobalFigures = {
    params: share(reached.params, baseline.params),
    flops: share(reached.flops, baseline.flops),
    channels: share(reached.channels, baseline.channels),
  };
  const extras = [
    options.roundTo !== undefined && options.roundTo > 1 ? `kept rounded to ${options.roundTo}` : '',
    align > 1 ? `kept counts preferably multiples of ${align}` : '',
    options.maxRatio !== undefined ? `at most ${+(options.maxRatio * 100).toFixed(2)}% per group` : '',
  ].filter((x) => x !== '');
  plan.note = `global: remove ${+(goal * 100).toFixed(2)}% of ${target.kind === 'flops' ? 'FLOPs' : target.kind}${extras.length > 0 ? ` (${extras.join(', ')})` : ''}`;
  return { plan, reached, baseline, removed, met: removed[target.kind] >= goal - 1e-12 };
}
