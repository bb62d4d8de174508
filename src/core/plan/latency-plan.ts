/**
 * Global pruning to a latency budget on the user's own device (NetAdapt/HALP-style, with the latency
 * model fitted to an online calibration, `metrics/latency-model.ts`): rank every prunable channel by
 * its normalised score, as `planGlobal` does, and remove the lowest until the predicted latency
 * reaches the target, in ms or as a speed-up ("2x faster here"). Channel counts the backend runs
 * badly are avoided: a group only stops at kept counts on the lower envelope of its latency curve
 * (no larger count is faster), not at a fixed multiple of N.
 *
 * Example: `planLatency(graph, normalizeScores(scores, 'mean'), makeLatencyModel(cal, graph),
 * costModel, {kind: 'speedup', factor: 2}, {maxRatio: 0.8})` states `predictedMs` before anything is applied.
 */
import type { ChannelGraph, ChannelGroup } from '../graph/types';
import type { CostModel } from '../metrics/costs';
import { lowerEnvelope, type LatencyModel } from '../metrics/latency-model';
import { isIgnored, removalCount, type PlanOptions } from './auto';
import { key, type GlobalFigures, type Step } from './global';
import type { PruningPlan } from './plan';

/** A latency target: milliseconds per forward pass, or a speed-up over the model as it is. */
export type LatencyTarget = { kind: 'latency'; ms: number } | { kind: 'speedup'; factor: number };

export interface LatencyPlanOptions extends PlanOptions {
  /**
   * Kept counts a group may stop at: `measured` (default) the counts calibration timed that lie on the
   * envelope (a lookup table, as NetAdapt); `any` every count whose interpolated latency lies on it.
   */
  counts?: 'measured' | 'any';
}

/** A latency plan and what it is predicted to reach, stated before it is applied. */
export interface LatencyPlanResult {
  plan: PruningPlan;
  baselineMs: number;
  targetMs: number;
  predictedMs: number;
  /** `baselineMs / predictedMs`. */
  predictedSpeedup: number;
  /** False when the limits (max ratio, layers left alone, one channel kept, envelope counts) stop short. */
  met: boolean;
  /** Params, FLOPs and channels, as `planGlobal` states them. */
  reached: GlobalFigures;
  baseline: GlobalFigures;
  removed: GlobalFigures;
  /** Eligible groups calibration did not measure: left whole. */
  uncalibrated: string[];
}

/** The target in ms for a baseline. */
export function targetMs(target: LatencyTarget, baselineMs: number): number {
  return target.kind === 'latency' ? target.ms : baselineMs / Math.max(1e-9, target.factor);
}

/** The target in words: "2x faster" or "40 ms". */
export function describeLatencyTarget(target: LatencyTarget): string {
  return target.kind === 'speedup' ? `${+target.factor.toFixed(3)}x faster` : `${+target.ms.toFixed(3)} ms`;
}

/**
 * Removal counts a group may take, ascending: those whose kept count is on the lower envelope of the
 * group's latency curve, within the cap (maxRatio, one kept) and, when given, a multiple of roundTo.
 * Example: curve 5, 7, 6, 9 ms at kept 1..4 (size 4) -> kept 1 and 3 -> removal counts [1, 3].
 */
export function envelopeRemovals(
  group: ChannelGroup,
  model: LatencyModel,
  options: LatencyPlanOptions = {},
): number[] | undefined {
  const size = group.size;
  const all = Array.from({ length: size }, (_, i) => i + 1);
  const curve = model.groupCurve(group.producer, options.counts === 'any' ? all : undefined);
  if (!curve) return undefined;
  const cap = removalCount(size, 1, options);
  const n =
    options.roundTo !== undefined && Number.isInteger(options.roundTo) && options.roundTo > 1
      ? options.roundTo
      : 1;
  const { on } = lowerEnvelope(curve);
  const out: number[] = [];
  curve.forEach((p, i) => {
    const k = size - p.kept;
    if (on[i] && k >= 1 && k <= cap && p.kept % n === 0) out.push(k);
  });
  return out.sort((a, b) => a - b);
}

/**
 * A plan removing the globally lowest-scored channels until the predicted latency reaches `target`:
 * the smallest prefix of the ranking (steps between envelope counts of every eligible group, by the
 * highest score each removes) whose prediction is at or under the target. Never empties a group;
 * respects `maxRatio`, `roundTo`, `ignore` and `layers` like `planGlobal`. Scores must be comparable
 * across layers (`normalizeScores`).
 */
export function planLatency(
  graph: ChannelGraph,
  scores: Readonly<Record<string, Float32Array>>,
  model: LatencyModel,
  costModel: CostModel,
  target: LatencyTarget,
  options: LatencyPlanOptions = {},
): LatencyPlanResult {
  const only = options.layers
    ? new Set(options.layers.map((l) => graph.groupByProducer[l]).filter((g) => g !== undefined))
    : undefined;
  const eligible: ChannelGroup[] = graph.groups.filter(
    (g) =>
      g.prunable &&
      g.size > 1 &&
      !(only && !only.has(g.id)) &&
      !(options.ignore && isIgnored(g, options.ignore)),
  );
  const orders = new Map<number, number[]>();
  const steps: Step[] = [];
  const uncalibrated: string[] = [];
  for (const g of eligible) {
    const s = scores[g.producer];
    if (!s) throw new Error(`No scores for '${g.producer}'.`);
    if (s.length !== g.size)
      throw new Error(`'${g.producer}' has ${g.size} channels but ${s.length} scores.`);
    const removals = envelopeRemovals(g, model, options);
    if (!removals) {
      uncalibrated.push(g.producer);
      continue;
    }
    const order = Array.from({ length: g.size }, (_, i) => i).sort((a, b) => key(s[a]) - key(s[b]) || a - b);
    orders.set(g.id, order);
    for (const to of removals) steps.push({ group: g.id, to, score: key(s[order[to - 1]!]) });
  }
  const rank = new Map(eligible.map((g, i) => [g.id, i]));
  steps.sort((a, b) => a.score - b.score || rank.get(a.group)! - rank.get(b.group)! || a.to - b.to);

  const planAt = (length: number): PruningPlan => {
    const m = new Map<number, number>();
    for (let i = 0; i < length; i++) {
      const st = steps[i]!;
      m.set(st.group, Math.max(m.get(st.group) ?? 0, st.to));
    }
    const remove: Record<string, number[]> = {};
    for (const [id, count] of m) {
      remove[graph.groups[id]!.producer] = orders
        .get(id)!
        .slice(0, count)
        .sort((a, b) => a - b);
    }
    return { version: 1, remove };
  };
  const baselineMs = model.baselineMs;
  const goal = targetMs(target, baselineMs);
  const meets = (length: number) => model.predict(planAt(length)) <= goal + 1e-9;
  // Smallest prefix meeting the goal. The prediction falls as channels go on envelope counts, but
  // interactions between groups can make it not quite monotone: bisect, then step forward if needed.
  let lo = 0;
  let hi = steps.length;
  if (meets(0)) hi = 0;
  else if (!meets(hi)) lo = hi;
  else {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (meets(mid)) hi = mid;
      else lo = mid + 1;
    }
    while (lo < steps.length && !meets(lo)) lo++;
  }
  const plan = planAt(lo);
  const predictedMs = model.predict(plan);

  const base = costModel.evaluate({ version: 1, remove: {} });
  const c = costModel.evaluate(plan);
  const channels = eligible.reduce((n, g) => n + g.size, 0);
  const removedChannels = Object.values(plan.remove).reduce((n, l) => n + l.length, 0);
  const baseline: GlobalFigures = { params: base.params, flops: base.flops, channels };
  const reached: GlobalFigures = { params: c.params, flops: c.flops, channels: channels - removedChannels };
  const share = (a: number, b: number) => (b > 0 ? (b - a) / b : 0);
  const extras = [
    options.roundTo !== undefined && options.roundTo > 1 ? `kept rounded to ${options.roundTo}` : '',
    options.maxRatio !== undefined ? `at most ${+(options.maxRatio * 100).toFixed(2)}% per group` : '',
  ].filter((x) => x !== '');
  plan.note =
    `latency: ${describeLatencyTarget(target)} (predicted ${predictedMs.toFixed(2)} ms of ` +
    `${baselineMs.toFixed(2)} ms)${extras.length > 0 ? ` (${extras.join(', ')})` : ''}`;
  return {
    plan,
    baselineMs,
    targetMs: goal,
    predictedMs,
    predictedSpeedup: predictedMs > 0 ? baselineMs / predictedMs : Infinity,
    met: predictedMs <= goal + 1e-9,
    reached,
    baseline,
    removed: {
      params: share(reached.params, baseline.params),
      flops: share(reached.flops, baseline.flops),
      channels: share(reached.channels, baseline.channels),
    },
    uncalibrated,
  };
}
