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
import type { ChannelGraph } from '../graph/types';
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
  check?: { kept: Record<string, number>; ms: number; baselineMs: number };
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
  /** The factor layer deltas are scaled by (`baselineMs / layerSumMs`, within 0.5..1.5). */
  scale: number;
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
}

const AXES: Record<LatencyAxis, number> = { in: 0, out: 1, both: 2 };

/**
 * Fits the latency model to a calibration, for the channel graph it was made on (group producers are
 * looked up in `graph`, so a plan may name a group by any of its producers).
 */
export function makeLatencyModel(cal: LatencyCalibration, graph: ChannelGraph): LatencyModel {
  const sizes = new Map<number, number>();
  for (const g of cal.groups) {
    const id = graph.groupByProducer[g.producer];
    if (id !== undefined) sizes.set(id, g.size);
  }
  const layers = cal.layers
    .map((l) => ({
      ms: l.ms,
      terms: l.effects
        .map((e): Term | undefined => {
          const id = graph.groupByProducer[e.group];
          return id === undefined ? undefined : { group: id, axis: AXES[e.axis], points: e.points };
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

  /** Sum over `which` layers of (predicted - full) for these kept counts, scaled. */
  const delta = (kept: ReadonlyMap<number, number>, which: Iterable<number>): number => {
    let total = 0;
    const f: [number, number, number] = [1, 1, 1];
    for (const i of which) {
      const l = layers[i]!;
      if (!(l.ms > 0)) continue;
      f[0] = f[1] = f[2] = 1;
      let touched = false;
      for (const t of l.terms) {
        const k = kept.get(t.group);
        if (k === undefined || k >= (sizes.get(t.group) ?? Infinity)) continue;
        touched = true;
        f[t.axis as 0 | 1 | 2] += interpolateLatency(t.points, k) / l.ms - 1;
      }
      if (!touched) continue;
      total += l.ms * Math.max(0, f[0]) * Math.max(0, f[1]) * Math.max(0, f[2]) - l.ms;
    }
    return total * scale;
  };

  if (cal.check) {
    const kept = new Map<number, number>();
    for (const [producer, k] of Object.entries(cal.check.kept)) {
      const id = graph.groupByProducer[producer];
      if (id !== undefined) kept.set(id, k);
    }
    scale = 1;
    const raw = delta(kept, layers.keys());
    const measured = cal.check.ms - cal.check.baselineMs;
    if (raw < 0 && measured < 0) scale = Math.min(2, Math.max(0.2, measured / raw));
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
 * near the operating point the user is after. `baselineMs` is the original, measured alternated with it.
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
  return { ...cal, baselineMs, check: { kept, ms: measuredMs, baselineMs } };
}
