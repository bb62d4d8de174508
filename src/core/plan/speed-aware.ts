/**
 * Global plans whose FLOPs cut shows as speed on this device. A FLOPs plan ranks channels by score
 * alone, so it may cut FLOPs that cost little time here (late 7x7 GEMMs) and keep those that cost much
 * (activations moved at high resolution): on wasm a MobileNetV2 plan removing half the FLOPs ran only
 * 1.7x faster. With a calibration (`metrics/latency-model.ts`) this planner weighs each group's scores
 * by how much time one FLOP of it saves here, relative to the model's median group, raised to a
 * strength s: `score / factor^s`. s = 0 is the plain ranking; the planner takes the smallest s of
 * `SPEED_STRENGTHS` whose plan is predicted to run at least `realize` (0.95: the bar is 0.9 measured, and
 * the latency model errs by about 5%) of its FLOPs ratio faster,
 * so it strays from the score ranking only as far as needed, and not at all when no strength gets
 * there (a small model whose time is per-layer overhead). The target (params, FLOPs, channels) is
 * met as by `planGlobal`, with the same limits.
 *
 * Example: `planGlobalForSpeed(graph, normalizeScores(scores, 'mean'), costs, latencyModel,
 * {kind: 'flops', fraction: 0.5}, {maxRatio: 0.9})` -> `{strength: 0.05, predictedSpeedup: 1.94, ...}`.
 */
import type { ChannelGraph } from '../graph/types';
import type { CostModel } from '../metrics/costs';
import type { LatencyModel } from '../metrics/latency-model';
import type { PruningPlan } from './plan';
import { planGlobal, type GlobalPlanOptions, type GlobalPlanResult, type GlobalTarget } from './global';

/** Default share of the FLOPs ratio a plan should run faster by here. */
export const DEFAULT_REALIZE = 0.95;

/** Strengths tried in order (0 = the plain ranking); the first whose plan realizes enough is taken. */
export const SPEED_STRENGTHS: readonly number[] = [0, 0.025, 0.05, 0.1, 0.2, 0.5, 1];

/** Default cap on what ranking for speed may cost: this much of the plain ranking's importance removed. */
export const DEFAULT_MAX_IMPORTANCE_RATIO = 1.25;

export interface SpeedAwareOptions extends GlobalPlanOptions {
  /** Share of the plan's FLOPs ratio its predicted speed-up should reach (default 0.95; 0: plain ranking). */
  realize?: number;
  /**
   * A weighted plan removing more than this times the importance (normalised scores) the plain
   * ranking removes is not taken (default 1.25): speed is not bought with that much accuracy.
   */
  maxImportanceRatio?: number;
}

export interface SpeedAwarePlanResult extends GlobalPlanResult {
  /** The strength used (0: the plain ranking met `realize`, or no strength did and 0 was best). */
  strength: number;
  /** The model as it is, and the plan, predicted here (ms), and the predicted speed-up. */
  baselineMs: number;
  predictedMs: number;
  predictedSpeedup: number;
  /** FLOPs before / after the plan. */
  flopsRatio: number;
  /** The plain ranking's plan (strength 0) for the same target, predicted here. */
  plain: { predictedSpeedup: number; flopsRatio: number };
  /** True when `predictedSpeedup >= realize * flopsRatio`. */
  realized: boolean;
  /**
   * Sum of the (normalised) scores this plan removes over the plain ranking's: what ranking for speed
   * costs in importance (1: nothing; 1.2: a fifth more). Accuracy is what the preview measures.
   */
  importanceRatio: number;
  /**
   * Why the plain ranking was kept though it falls short (`realized` false): `overhead`, no weighting
   * reaches `realize` (time this device spends per layer, not per FLOP); `importance`, the weighting
   * that does removes more than `maxImportanceRatio` times the plain ranking's importance.
   */
  shortBy?: 'overhead' | 'importance';
}

/**
 * Per calibrated group: the time one removed FLOP saves here (the group pruned to half alone, predicted
 * ms saved over FLOPs saved), divided by the median over those groups. Groups whose half removes no
 * FLOPs or no predicted time are left out. Example: an early MobileNetV2 expansion (112x112) -> 2-4, a
 * late 7x7 one -> 0.6.
 */
export function timePerFlopFactors(
  graph: ChannelGraph,
  costModel: CostModel,
  latency: LatencyModel,
): Record<string, number> {
  const baseFlops = costModel.evaluate({ version: 1, remove: {} }).flops;
  const rho: [string, number][] = [];
  for (const producer of latency.groups) {
    const g = graph.groups[graph.groupByProducer[producer] ?? -1];
    if (!g || !g.prunable || g.size < 2) continue;
    const half = {
      version: 1 as const,
      remove: { [producer]: Array.from({ length: g.size >> 1 }, (_, i) => i) },
    };
    const dFlops = baseFlops - costModel.evaluate(half).flops;
    const dMs = latency.baselineMs - latency.predict(half);
    if (dFlops > 0 && dMs > 0) rho.push([producer, dMs / dFlops]);
  }
  if (rho.length === 0) return {};
  const sorted = rho.map(([, r]) => r).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return Object.fromEntries(rho.map(([p, r]) => [p, r / median]));
}

/** `scores` with each weighted group's divided by `factor^strength` (others as they are, same arrays). */
export function weightScores(
  scores: Readonly<Record<string, Float32Array>>,
  factors: Readonly<Record<string, number>>,
  strength: number,
): Record<string, Float32Array> {
  if (strength === 0) return { ...scores };
  const out: Record<string, Float32Array> = {};
  for (const [layer, s] of Object.entries(scores)) {
    const f = factors[layer];
    if (f === undefined) {
      out[layer] = s;
      continue;
    }
    const d = f ** strength;
    out[layer] = s.map((v) => v / d);
  }
  return out;
}

/** a / b, and 1 when both are 0 (two plans that remove nothing of importance cost the same). */
function ratioOf(a: number, b: number): number {
  return b > 0 ? a / b : a > 0 ? Infinity : 1;
}

/** Sum of the scores of the channels `plan` removes (NaN scores count as 0). */
export function importanceRemoved(scores: Readonly<Record<string, Float32Array>>, plan: PruningPlan): number {
  let n = 0;
  for (const [layer, idx] of Object.entries(plan.remove)) {
    const s = scores[layer];
    if (s) for (const i of idx) n += Number.isFinite(s[i]) ? s[i]! : 0;
  }
  return n;
}

/**
 * `planGlobal` to `target`, with the ranking weighted for this device just enough that the plan is
 * predicted to run `realize` of its FLOPs ratio faster (see the file comment). Scores must be
 * normalised, as for `planGlobal`.
 */
export function planGlobalForSpeed(
  graph: ChannelGraph,
  scores: Readonly<Record<string, Float32Array>>,
  costModel: CostModel,
  latency: LatencyModel,
  target: GlobalTarget,
  options: SpeedAwareOptions = {},
): SpeedAwarePlanResult {
  const {
    realize = DEFAULT_REALIZE,
    maxImportanceRatio = DEFAULT_MAX_IMPORTANCE_RATIO,
    ...planOptions
  } = options;
  const factors = timePerFlopFactors(graph, costModel, latency);
  const baselineMs = latency.baselineMs;
  const judge = (r: GlobalPlanResult) => {
    const predictedMs = latency.predict(r.plan);
    const predictedSpeedup = predictedMs > 0 ? baselineMs / predictedMs : Infinity;
    const flopsRatio = r.baseline.flops / Math.max(1, r.reached.flops);
    return { predictedMs, predictedSpeedup, flopsRatio, ok: predictedSpeedup >= realize * flopsRatio - 1e-9 };
  };
  const strengths = realize > 0 && Object.keys(factors).length > 0 ? SPEED_STRENGTHS : [0];
  let best: { r: GlobalPlanResult; j: ReturnType<typeof judge>; strength: number } | undefined;
  let plain: { r: GlobalPlanResult; j: ReturnType<typeof judge>; importance: number } | undefined;
  let shortBy: SpeedAwarePlanResult['shortBy'] = 'overhead';
  for (const strength of strengths) {
    const r = planGlobal(graph, weightScores(scores, factors, strength), costModel, target, planOptions);
    const j = judge(r);
    plain ??= { r, j, importance: importanceRemoved(scores, r.plan) };
    if (!j.ok) continue;
    // The first that realizes enough, unless it costs too much importance (the stronger ones cost more).
    if (ratioOf(importanceRemoved(scores, r.plan), plain.importance) > maxImportanceRatio) {
      shortBy = 'importance';
      break;
    }
    best = { r, j, strength };
    break;
  }
  // When none does (a model whose time is per-layer overhead) or only at too high a cost: the plain
  // ranking, trading no importance for a speed-up the device will not show.
  best ??= { ...plain!, strength: 0 };
  const { r, j, strength } = best;
  if (strength > 0) {
    r.plan.note = `${r.plan.note ?? 'global plan'}; ranked for speed here (strength ${strength})`;
  }
  return {
    ...r,
    strength,
    baselineMs,
    predictedMs: j.predictedMs,
    predictedSpeedup: j.predictedSpeedup,
    flopsRatio: j.flopsRatio,
    plain: { predictedSpeedup: plain!.j.predictedSpeedup, flopsRatio: plain!.j.flopsRatio },
    realized: j.ok,
    importanceRatio: ratioOf(importanceRemoved(scores, r.plan), plain!.importance),
    ...(j.ok ? {} : { shortBy }),
  };
}
