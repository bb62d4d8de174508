/**
 * A latency model fitted to what calibration measured on this device (NetAdapt, Yang et al. ECCV 2018;
 * HALP, Shen et al. NeurIPS 2022: per-layer latency lookup tables, here measured online on the active
 * tfjs backend). Pure data in, numbers out: no tfjs, so the planner and the tests run anywhere.
 *
 * What calibration keeps (`LatencyCalibration`): the whole model's latency, and for every layer whose
 * channel counts change when a group is pruned, its own latency at full size and at a few kept counts
 * of each group that touches it (that group alone pruned). A layer touched on its input axis by group
 * `a` and on its output axis by group `b` (a conv between two groups) is predicted as
 * `t0 * f_in * f_out`, each factor `1 + sum over that axis's groups of (t(k)/t0 - 1)`: exact for a cost
 * bilinear in input and output channels, additive where groups share an axis (a concatenation).
 * The model's latency for a plan is `baselineMs + scale * sum over layers of (t(plan) - t0)`. Layers
 * timed alone shrink more with their channels than inside the model (on MobileNetV2, wasm, plain
 * sums predicted 15-25% more speed-up than measured), so `scale` is fitted to one check run of the
 * real model pruned ~30% everywhere (`check`, NetAdapt measures its proposals the same way), within
 * 0.2..2; without a check, `baselineMs / layerSumMs` (within 0.5..1.5).
 *
 * Example: `makeLatencyModel(cal, graph).predict({version: 1, remove: {conv1: [0, 1, 2, 3]}})`
 * interpolates each layer's curve at conv1's kept count (piecewise-linear between measured counts).
 */
import type { ChannelGraph, ChannelGroup } from '../graph/types';
import type { PruningPlan } from '../plan/plan';

/** One measured point: `ms` with `kept` channels of the group left. */
export interface LatencyPoint {
  kept: number;
  ms: number;
}

/** Which of a layer's channel axes a group changes: input, output, or both (a channel-wise layer). */
export type LatencyAxis = 'in' | 'out' | 'both';

/** How one group changes one layer's latency. */
export interface LayerEffect {
  /** The group, by its canonical producer. */
  group: string;
  axis: LatencyAxis;
  /** Measured points, ascending by `kept`, the last at the group's full size (the layer's `ms`). */
  points: LatencyPoint[];
}

/** One layer's calibration: its latency at full size and how each group changes it. */
export interface LayerLatency {
  name: string;
  className: string;
  ms: number;
  effects: LayerEffect[];
}

/** One calibrated group: its size and the kept counts measured. */
export interface GroupCalibration {
  producer: string;
  size: number;
  /** Kept counts measured, ascending, ending with `size`. */
  counts: number[];
  /**
   * The cluster of groups it shares a correction factor with (`latencyCluster`): each cluster's
   * layer deltas are scaled by their own factor, fitted to `checks`. Absent: one cluster for all.
   */
  cluster?: string;
}

/** A whole-model check run: these groups pruned to `kept`, measured at `ms` against `baselineMs`. */
export interface LatencyCheck {
  kept: Record<string, number>;
  ms: number;
  baselineMs: number;
  /** The cluster pruned alone in this run (for the record; the fit reads `kept`). */
  cluster?: string;
  /**
   * Matched exactly (`refitToMeasurement`: a measured plan): after the per-cluster fit, every scale
   * is multiplied by one factor so that this run is predicted at `ms`.
   */
  exact?: boolean;
}

/** What `calibrateLatency` measured: plain JSON data, cached by the caller per model and backend. */
export interface LatencyCalibration {
  version: 1;
  /** `modelFingerprint` of the model (io/fingerprint.ts). */
  fingerprint: string;
  /** The tfjs backend it ran on ('wasm', 'webgl', 'cpu'). */
  backend: string;
  /** Samples per forward pass. */
  batch: number;
  /** The whole model, median of `repeats`, and the spread of those runs. */
  baselineMs: number;
  baselineSpreadMs: [number, number];
  /**
   * Every layer timed alone at full size, summed (layers that could not be built alone left out).
   * Layers alone run slower than inside the model (measured: 54 ms of layers against a 43 ms
   * MobileNetV2 on wasm), so the deltas are scaled by `baselineMs / layerSumMs`.
   */
  layerSumMs: number;
  /**
   * A check run on the real model: every calibrated group pruned to `kept`, measured at `ms` against
   * the original's `baselineMs`, alternated. When present, the deltas are scaled to match it.
   */
  check?: LatencyCheck;
  /**
   * More check runs, each cluster of groups pruned alone (~50%): with `check`, they fit one scale
   * per cluster (least squares, pulled towards the global scale where a cluster saves too little to
   * be measured), so groups that timed alone over-rate their savings (MobileNetV2's inverted
   * residual blocks) are scaled down on their own, not averaged with the rest.
   */
  checks?: LatencyCheck[];
  warmup: number;
  repeats: number;
  groups: GroupCalibration[];
  layers: LayerLatency[];
  /** Layers that could not be timed alone (they count as not changing), with the reason. */
  skipped: { layer: string; reason: string }[];
  /** How long calibration took, in seconds. */
  seconds: number;
}

/** The key a calibration is cached under: model fingerprint, backend and batch. */
export function calibrationKey(fingerprint: string, backend: string, batch = 1): string {
  return `${fingerprint}|${backend}|${batch}`;
}

/**
 * Piecewise-linear interpolation of ascending `points` at `kept`: exact at measured counts, linear
 * between two, flat beyond the ends (no extrapolation past what was measured).
 * Example: points (2, 1 ms), (4, 3 ms): kept 3 -> 2 ms; kept 1 -> 1 ms.
 */
export function interpolateLatency(points: readonly LatencyPoint[], kept: number): number {
  const n = points.length;
  if (n === 0) return Number.NaN;
  const first = points[0]!;
  const last = points[n - 1]!;
  if (kept <= first.kept) return first.ms;
  if (kept >= last.kept) return last.ms;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]!.kept <= kept) lo = mid;
    else hi = mid;
  }
  const a = points[lo]!;
  const b = points[hi]!;
  if (b.kept === a.kept) return a.ms;
  return a.ms + ((b.ms - a.ms) * (kept - a.kept)) / (b.kept - a.kept);
}

/**
 * The lower envelope of a latency curve, read from the largest count down: at each count the least
 * latency of that count or any larger one, so it never rises as channels go. A count sits on the
 * envelope when its own latency is that least value: keeping more channels would not be slower.
 * Example: ms 5, 7, 6, 9 at kept 1..4 -> envelope 5, 6, 6, 9; on it: kept 1, 3, 4 (kept 2 is a bump).
 */
export function lowerEnvelope(points: readonly LatencyPoint[]): { envelope: LatencyPoint[]; on: boolean[] } {
  const envelope: LatencyPoint[] = new Array<LatencyPoint>(points.length);
  const on: boolean[] = new Array<boolean>(points.length);
  let least = Infinity;
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i]!;
    on[i] = p.ms < least || i === points.length - 1;
    least = Math.min(least, p.ms);
    envelope[i] = { kept: p.kept, ms: least };
  }
  return { envelope, on };
}

/** A fitted latency model: predicts the model's latency for any plan in O(layers touched). */
export interface LatencyModel {
  /** The whole model as calibrated, in ms. */
  baselineMs: number;
  /** The factor layer deltas are scaled by (`baselineMs / layerSumMs`, within 0.5..1.5; or fitted to the check). */
  scale: number;
  /** Per-cluster factors when `checks` were measured (each within 0.2..2), by cluster name. */
  scales?: Record<string, number>;
  /** Predicted latency of the pruned model in ms. */
  predict(plan: PruningPlan): number;
  /**
   * The group pruned alone: the model's predicted latency at each of `counts` kept channels (default:
   * the measured counts), ascending. Undefined for a group calibration did not measure.
   */
  groupCurve(producer: string, counts?: readonly number[]): LatencyPoint[] | undefined;
  /** Canonical producers of the groups calibration measured. */
  groups: readonly string[];
}

interface Term {
  group: number;
  axis: number;
  points: LatencyPoint[];
  cluster: number;
}

/**
 * The correction cluster of a group, by its kind: `merge` (several producers joined by an elementwise
 * merge: a residual stream), `depthwise` (a depthwise conv reads it: an inverted-residual expansion),
 * `plain` otherwise. Few clusters on purpose: each check run then removes enough to be measured (six,
 * split early/late as well, fitted noise on MobileNetV2 and the planner leaned on it).
 */
export function latencyCluster(group: ChannelGroup): string {
  return group.producers.length > 1
    ? 'merge'
    : group.members.some((m) => m.role === 'channelwise' && /Depthwise/.test(m.className ?? ''))
      ? 'depthwise'
      : 'plain';
}

/** Solves the small dense system `a x = b` by Gaussian elimination with partial pivoting (a is n x n). */
export function solveLinear(a: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    if (!(Math.abs(m[p]![c]!) > 1e-12)) return undefined;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      if (f !== 0) for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

/**
 * Per-cluster scales: least squares over the check runs, `measured_j = sum_c s_c raw_jc`, with a
 * prior row `tau (s_c - s0) = 0` per cluster (tau in ms: what one check can resolve), so a cluster
 * whose checks saved much more than tau is set by them and one that saved little stays near `s0`.
 * Each scale within 0.2..2, and at most `cap` (default 2): a cluster scaled above the global scale
 * is one the planner would lean on, so the caller caps it there (an over-rated cluster costs a missed
 * target, an under-rated one only a plan that prunes elsewhere).
 */
export function fitClusterScales(
  raw: readonly (readonly number[])[],
  measured: readonly number[],
  s0: number,
  tau: number,
  weights?: readonly number[],
  cap = 2,
): number[] {
  const k = raw[0]?.length ?? 0;
  const ata = Array.from({ length: k }, (_, i) =>
    Array.from({ length: k }, (_, j) => (i === j ? tau * tau : 0)),
  );
  const atb = Array.from({ length: k }, () => tau * tau * s0);
  raw.forEach((row, j) => {
    const w = weights?.[j] ?? 1;
    for (let a = 0; a < k; a++) {
      atb[a]! += w * row[a]! * measured[j]!;
      for (let b = 0; b < k; b++) ata[a]![b]! += w * row[a]! * row[b]!;
    }
  });
  const x = solveLinear(ata, atb) ?? atb.map(() => s0);
  const hi = Math.min(2, cap);
  return x.map((v) => (Number.isFinite(v) ? Math.min(hi, Math.max(0.2, v)) : Math.min(hi, s0)));
}

const AXES: Record<LatencyAxis, number> = { in: 0, out: 1, both: 2 };

/**
 * Fits the latency model to a calibration, for the channel graph it was made on (group producers are
 * looked up in `graph`, so a plan may name a group by any of its producers).
 */
export function makeLatencyModel(cal: LatencyCalibration, graph: ChannelGraph): LatencyModel {
  const sizes = new Map<number, number>();
  const clusterNames: string[] = [];
  const clusterOf = new Map<number, number>();
  for (const g of cal.groups) {
    const id = graph.groupByProducer[g.producer];
    if (id === undefined) continue;
    sizes.set(id, g.size);
    const name = g.cluster ?? 'all';
    let c = clusterNames.indexOf(name);
    if (c < 0) c = clusterNames.push(name) - 1;
    clusterOf.set(id, c);
  }
  const K = Math.max(1, clusterNames.length);
  const layers = cal.layers
    .map((l) => ({
      ms: l.ms,
      terms: l.effects
        .map((e): Term | undefined => {
          const id = graph.groupByProducer[e.group];
          return id === undefined
            ? undefined
            : { group: id, axis: AXES[e.axis], points: e.points, cluster: clusterOf.get(id) ?? 0 };
        })
        .filter((t): t is Term => t !== undefined),
    }))
    .filter((l) => l.terms.length > 0);
  const byGroup = new Map<number, number[]>();
  layers.forEach((l, i) => {
    for (const t of l.terms) {
      const list = byGroup.get(t.group) ?? [];
      if (list[list.length - 1] !== i) list.push(i);
      byGroup.set(t.group, list);
    }
  });

  let scale =
    cal.layerSumMs > 0 && cal.baselineMs > 0
      ? Math.min(1.5, Math.max(0.5, cal.baselineMs / cal.layerSumMs))
      : 1;
  let scales: number[] = Array.from({ length: K }, () => scale);

  /**
   * Sum over `which` layers of (predicted - full) for these kept counts, unscaled, by cluster: a
   * layer's delta is shared among the clusters of the groups that change it, by each one's share of
   * the layer's relative change.
   */
  const parts = (kept: ReadonlyMap<number, number>, which: Iterable<number>): number[] => {
    const out = new Array<number>(K).fill(0);
    const f: [number, number, number] = [1, 1, 1];
    const share = new Array<number>(K).fill(0);
    for (const i of which) {
      const l = layers[i]!;
      if (!(l.ms > 0)) continue;
      f[0] = f[1] = f[2] = 1;
      share.fill(0);
      let touched = false;
      let sum = 0;
      let last = 0;
      for (const t of l.terms) {
        const k = kept.get(t.group);
        if (k === undefined || k >= (sizes.get(t.group) ?? Infinity)) continue;
        touched = true;
        const e = interpolateLatency(t.points, k) / l.ms - 1;
        f[t.axis as 0 | 1 | 2] += e;
        share[t.cluster]! += Math.abs(e);
        sum += Math.abs(e);
        last = t.cluster;
      }
      if (!touched) continue;
      const d = l.ms * Math.max(0, f[0]) * Math.max(0, f[1]) * Math.max(0, f[2]) - l.ms;
      if (sum > 0) for (let c = 0; c < K; c++) out[c]! += (d * share[c]!) / sum;
      else out[last]! += d;
    }
    return out;
  };
  const delta = (kept: ReadonlyMap<number, number>, which: Iterable<number>): number => {
    const p = parts(kept, which);
    let total = 0;
    for (let c = 0; c < K; c++) total += p[c]! * scales[c]!;
    return total;
  };
  const keptIds = (rec: Record<string, number>): Map<number, number> => {
    const kept = new Map<number, number>();
    for (const [producer, k] of Object.entries(rec)) {
      const id = graph.groupByProducer[producer];
      if (id !== undefined) kept.set(id, k);
    }
    return kept;
  };

  if (cal.check) {
    const p = parts(keptIds(cal.check.kept), layers.keys());
    const raw = p.reduce((a, b) => a + b, 0);
    const measured = cal.check.ms - cal.check.baselineMs;
    scale = raw < 0 && measured < 0 ? Math.min(2, Math.max(0.2, measured / raw)) : 1;
    scales = scales.map(() => scale);
    const more = (cal.checks ?? []).filter((c) => c.baselineMs > 0 && c.ms > 0);
    if (more.length > 0 && K > 0) {
      // Each check's measured saving, in ms of this calibration's baseline (each was alternated with
      // its own run of the original; drift between them is taken out by their ratio).
      const rows = [p, ...more.map((c) => parts(keptIds(c.kept), layers.keys()))];
      const measuredRows = [
        measured,
        ...more.map((c) => cal.check!.baselineMs * (c.ms / c.baselineMs) - cal.check!.baselineMs),
      ];
      const tau = 0.05 * Math.max(cal.check.baselineMs, 1e-9);
      scales = fitClusterScales(rows, measuredRows, scale, tau, undefined, scale);
      if (cal.check.exact) {
        const fitted = p.reduce((n, x, c) => n + x * scales[c]!, 0);
        if (fitted < 0 && measured < 0) {
          const k = measured / fitted;
          scales = scales.map((x) => Math.min(2, Math.max(0.2, x * k)));
        }
      }
    }
  }
  const keptOf = (plan: PruningPlan): Map<number, number> => {
    const kept = new Map<number, number>();
    for (const [producer, list] of Object.entries(plan.remove)) {
      const id = graph.groupByProducer[producer];
      const size = id === undefined ? undefined : sizes.get(id);
      if (id === undefined || size === undefined || !list || kept.has(id)) continue;
      const removed = new Set(list.filter((x) => Number.isInteger(x) && x >= 0 && x < size)).size;
      if (removed > 0) kept.set(id, size - removed);
    }
    return kept;
  };

  return {
    baselineMs: cal.baselineMs,
    scale,
    ...(cal.checks && cal.checks.length > 0 && cal.check
      ? { scales: Object.fromEntries(clusterNames.map((n, c) => [n, scales[c]!])) }
      : {}),
    groups: cal.groups.filter((g) => graph.groupByProducer[g.producer] !== undefined).map((g) => g.producer),
    predict(plan) {
      const kept = keptOf(plan);
      const touched = new Set<number>();
      for (const id of kept.keys()) for (const i of byGroup.get(id) ?? []) touched.add(i);
      return cal.baselineMs + delta(kept, touched);
    },
    groupCurve(producer, counts) {
      const id = graph.groupByProducer[producer];
      const g = cal.groups.find((x) => graph.groupByProducer[x.producer] === id);
      if (id === undefined || !g) return undefined;
      const which = byGroup.get(id) ?? [];
      return [...(counts ?? g.counts)]
        .sort((a, b) => a - b)
        .map((k) => ({ kept: k, ms: cal.baselineMs + delta(new Map([[id, k]]), which) }));
    },
  };
}

/**
 * The calibration with its check replaced by a measured plan (NetAdapt measures each proposal): the
 * deltas are then scaled so that this plan is predicted at `measuredMs`, which fits the model best
 * near the operating point the user is after (with per-cluster checks: their fit keeps the ratios
 * between clusters, one common factor matches this plan). `baselineMs` is the original, measured
 * alternated with it.
 * Example: plan to 2x, measure 1.8x, `refitToMeasurement(...)`, plan again.
 */
export function refitToMeasurement(
  cal: LatencyCalibration,
  graph: ChannelGraph,
  plan: PruningPlan,
  measuredMs: number,
  baselineMs: number,
): LatencyCalibration {
  const kept: Record<string, number> = {};
  for (const [producer, list] of Object.entries(plan.remove)) {
    const id = graph.groupByProducer[producer];
    const g = id === undefined ? undefined : graph.groups[id];
    if (!g || !list || list.length === 0) continue;
    kept[g.producer] = g.size - new Set(list).size;
  }
  return {
    ...cal,
    baselineMs,
    check: { kept, ms: measuredMs, baselineMs, exact: true },
    // The check it replaces stays as one more equation of the per-cluster fit.
    ...(cal.checks && cal.check ? { checks: [{ ...cal.check, exact: false }, ...cal.checks] } : {}),
  };
}
