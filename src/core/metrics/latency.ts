/**
 * Latency on this device, measured on the active tfjs backend: a model's latency (`measureModelLatency`),
 * and a short calibration (`calibrateLatency`) that times each layer whose channel counts a prunable
 * group changes, alone, at full size and at a few kept counts of that group, for the latency model
 * the planner uses (`latency-model.ts`, `plan/latency-plan.ts`). Timing is warm-up runs, then repeats,
 * median; a sample that would be shorter than the clock's grain runs the layer several times.
 *
 * Tests inject the clock (`now`) and `onRun`, called inside every timed run, to make time pass by a
 * synthetic cost: calibration is then deterministic.
 *
 * Example: `const cal = await calibrateLatency(opened, {signal, onProgress})`, kept by the caller
 * under `calibrationKey(cal.fingerprint, cal.backend, cal.batch)`.
 */
import * as tf from '@tensorflow/tfjs';
import type { ChannelGraph, ChannelGroup } from '../graph/types';
import type { ModelArtifactsData } from '../ir/artifacts';
import type { LayerIR, ModelIR, Shape } from '../ir/model-ir';
import { ruleFor } from '../ir/layer-rules';
import { abortError } from '../errors';
import { modelFingerprint } from '../io/fingerprint';
import { loadLayersModelFromArtifacts, tfjsCompatibleTopology } from '../io/tf-artifacts';
import { makeCostModel, type CostTotals } from './costs';
import type { PruningPlan } from '../plan/plan';
import { applyPlan } from '../surgery/apply-plan';
import type {
  GroupCalibration,
  LatencyAxis,
  LatencyCalibration,
  LatencyCheck,
  LatencyPoint,
  LayerLatency,
} from './latency-model';
import { latencyCluster } from './latency-model';

/** What one timed run is running, for `onRun`. */
export interface TimedRun {
  kind: 'model' | 'layer';
  /** The layer timed alone (kind 'layer'). */
  layer?: string;
  className?: string;
  /** Input shapes (batch first) and output channels of the run. */
  inputShapes: number[][];
  outChannels?: number;
}

/** Options of every timing here. */
export interface TimingOptions {
  /** Samples per forward pass (default 1). */
  batch?: number;
  /** Untimed runs first (default 1). */
  warmup?: number;
  /** Timed samples, median taken (default 5). */
  repeats?: number;
  /** A sample runs the probe until it lasts this long, at most 32 times (default 2 ms; 0: once). */
  minSampleMs?: number;
  /** Runs per sample, fixed (overrides `minSampleMs`). */
  runsPerSample?: number;
  /** The clock, in ms (default `performance.now`). */
  now?: () => number;
  /** Called inside each timed run (tests advance a fake clock here). */
  onRun?: (run: TimedRun) => void;
  signal?: AbortSignal;
}

/** A measured latency: median and spread of the samples, in ms. */
export interface LatencySample {
  medianMs: number;
  minMs: number;
  maxMs: number;
  samples: number[];
}

/** The median of a list (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function sampleOf(samples: number[]): LatencySample {
  return {
    medianMs: median(samples),
    minMs: Math.min(...samples),
    maxMs: Math.max(...samples),
    samples,
  };
}

/** Warm-up, then `repeats` samples of `run` (each `inner` runs, timed together), in ms per run. */
async function timeRuns(run: () => Promise<void>, o: TimingOptions): Promise<LatencySample> {
  const now = o.now ?? (() => performance.now());
  const warmup = Math.max(0, o.warmup ?? 1);
  const repeats = Math.max(1, o.repeats ?? 5);
  const minSample = o.minSampleMs ?? 2;
  let single = Infinity;
  for (let i = 0; i < warmup; i++) {
    if (o.signal?.aborted) throw abortError('Latency measurement was cancelled.');
    const t0 = now();
    await run();
    single = Math.min(single, now() - t0);
  }
  const inner =
    o.runsPerSample !== undefined
      ? Math.max(1, Math.floor(o.runsPerSample))
      : minSample > 0 && single < minSample
        ? Math.min(32, Math.ceil(minSample / Math.max(single, 1e-3)))
        : 1;
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    if (o.signal?.aborted) throw abortError('Latency measurement was cancelled.');
    const t0 = now();
    for (let i = 0; i < inner; i++) await run();
    samples.push((now() - t0) / inner);
  }
  return sampleOf(samples);
}

/** Input shapes of a live model with the batch filled in. */
function inputShapesOf(model: tf.LayersModel, batch: number): number[][] {
  return model.inputs.map((i) => i.shape.map((d, k) => (k === 0 ? batch : (d ?? 1))));
}

/**
 * A live model's latency per forward pass on the active backend (random inputs, `predict`, the output
 * read back so the GPU's work is counted): warm-up, repeats, median and spread.
 */
export async function measureModelLatency(
  model: tf.LayersModel,
  options: TimingOptions = {},
): Promise<LatencySample> {
  const shapes = inputShapesOf(model, options.batch ?? 1);
  const xs = shapes.map((s) => tf.randomUniform(s));
  try {
    return await timeRuns(
      async () => {
        const y = model.predict(xs.length === 1 ? xs[0]! : xs);
        options.onRun?.({ kind: 'model', inputShapes: shapes });
        const ys = Array.isArray(y) ? y : [y];
        await Promise.all(ys.map((t) => t.data()));
        tf.dispose(ys);
      },
      { minSampleMs: 0, ...options },
    );
  } finally {
    tf.dispose(xs);
  }
}

/**
 * Two live models' latencies measured alternately (A B A B, after a warm-up of each), so drift on a
 * shared machine hits both alike: each side's median and spread, and `ratio` = A's median / B's.
 * A sample of either side runs it as often as the faster one needs to last `minSampleMs` (default
 * 10 ms, at most 64 runs), the same count for both, so sub-millisecond models are not timed at the
 * clock's resolution (browsers round `performance.now` to 0.1 ms).
 */
export async function compareModelLatency(
  a: tf.LayersModel,
  b: tf.LayersModel,
  options: TimingOptions = {},
): Promise<{ a: LatencySample; b: LatencySample; ratio: number }> {
  const repeats = Math.max(1, options.repeats ?? 5);
  const probe = { ...options, repeats: 1, warmup: 0, minSampleMs: 0 };
  const ta = await measureModelLatency(a, { ...probe, warmup: options.warmup ?? 1 });
  const tb = await measureModelLatency(b, { ...probe, warmup: options.warmup ?? 1 });
  const minSample = options.minSampleMs ?? 10;
  const fastest = Math.max(Math.min(ta.medianMs, tb.medianMs), 1e-3);
  const runsPerSample =
    options.runsPerSample ?? (minSample > 0 ? Math.min(64, Math.max(1, Math.ceil(minSample / fastest))) : 1);
  const one = { ...probe, runsPerSample };
  const sa: number[] = [];
  const sb: number[] = [];
  for (let r = 0; r < repeats; r++) {
    sa.push((await measureModelLatency(a, one)).medianMs);
    sb.push((await measureModelLatency(b, one)).medianMs);
  }
  const A = sampleOf(sa);
  const B = sampleOf(sb);
  return { a: A, b: B, ratio: A.medianMs / B.medianMs };
}

/** A model as the workbench holds it (`OpenedModel` fits). */
export interface LatencyModelParts {
  artifacts: ModelArtifactsData;
  ir: ModelIR;
  graph: ChannelGraph;
}

export interface CalibrationOptions extends TimingOptions {
  /** Kept fractions to time each group at (default 7/8, 6/8 ... 2/8 of its size). */
  fractions?: readonly number[];
  /** Only these groups (any producer names its group). Default: every prunable group of 2+ channels. */
  groups?: readonly string[];
  /** Recorded as the backend (default `tf.getBackend()`). */
  backend?: string;
  /** Called after each timed probe: done, total, estimated seconds left. */
  onProgress?: (done: number, total: number, etaSeconds: number) => void;
  /** Awaited between probes so the page can paint. */
  yieldEvery?: () => Promise<void>;
  /**
   * Share of every chosen group to remove for the check run (default 0.3; 0: no check): that model
   * is measured against the original, alternated, and the layer deltas are scaled to match it.
   */
  check?: number;
  /**
   * Share of each cluster's groups (`latencyCluster`) to remove in one more check run per cluster,
   * each alternated with the original (default 0.5; 0: none). With the check above they fit one
   * correction factor per cluster (`makeLatencyModel`).
   */
  clusterCheck?: number;
}

/** The default kept fractions calibration times each group at. */
export const DEFAULT_CALIBRATION_FRACTIONS: readonly number[] = [0.875, 0.75, 0.625, 0.5, 0.375, 0.25];

/** Kept counts to time a group of `size` at, ascending, without `size`. Example: 16 -> [4, 6, 8, 10, 12, 14]. */
export function calibrationCounts(
  size: number,
  fractions: readonly number[] = DEFAULT_CALIBRATION_FRACTIONS,
): number[] {
  const out = new Set<number>();
  for (const f of fractions) {
    const k = Math.max(1, Math.min(size - 1, Math.round(f * size)));
    if (k < size) out.add(k);
  }
  return [...out].sort((a, b) => a - b);
}

/** What changes for one layer under a plan: its inputs' and its own output channel counts. */
interface LayerShape {
  inputs: number[][];
  out: number;
}

/** Shapes of every layer under a plan's costs (`costs.layers` holds each layer's output channels). */
function shapesUnder(ir: ModelIR, costs: CostTotals, batch: number): Map<string, LayerShape> {
  const outs = new Map(costs.layers.map((l) => [l.name, l.outChannels]));
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  const withChannels = (shape: Shape, c: number | undefined): number[] =>
    shape.map((d, i) =>
      i === 0 ? batch : i === shape.length - 1 && c !== undefined && !Number.isNaN(c) ? c : (d ?? 1),
    );
  const m = new Map<string, LayerShape>();
  for (const l of ir.layers) {
    // A Sequential's first layer has no inbound layer: it reads the model's input.
    const inputs =
      l.inbound.length === 0
        ? [withChannels(l.inputShape, undefined)]
        : l.inbound.map((n) => withChannels(byName.get(n)?.outputShape ?? [], outs.get(n)));
    m.set(l.name, { inputs, out: outs.get(l.name) ?? Number.NaN });
  }
  return m;
}

function sameShape(a: LayerShape, b: LayerShape): { in: boolean; out: boolean } {
  const key = (s: number[][]) => s.map((x) => x.join('x')).join(',');
  return {
    in: key(a.inputs) === key(b.inputs),
    out: a.out === b.out || (Number.isNaN(a.out) && Number.isNaN(b.out)),
  };
}

const PROBE = 'latency_probe';

/**
 * Waits until `y` is computed without copying it out: wasm and cpu run kernels synchronously, so it
 * already is; elsewhere (WebGL) reading one value waits for the queued work. Reading a whole large
 * activation back would time the copy, not the layer (in a model only the last output is read).
 */
async function settle(y: tf.Tensor): Promise<void> {
  const name = tf.getBackend();
  if (name === 'wasm' || name === 'cpu' || y.size === 0) return;
  const one = tf.tidy(() => y.reshape([-1]).slice(0, 1));
  await one.data();
  one.dispose();
}

/** A one-layer functional model of `layer` with these input shapes and output channels (random weights). */
async function buildProbe(layer: LayerIR, shape: LayerShape): Promise<tf.LayersModel> {
  const config: Record<string, unknown> = { ...layer.config, name: PROBE };
  delete config['batch_input_shape'];
  delete config['input_shape'];
  delete config['batch_shape'];
  const countKey = ruleFor(layer.className)?.countKey;
  if (countKey && Number.isFinite(shape.out)) config[countKey] = shape.out;
  const inputs = shape.inputs.map((s, i) => ({
    class_name: 'InputLayer',
    name: `${PROBE}_in${i}`,
    config: {
      batch_input_shape: [null, ...s.slice(1)],
      dtype: 'float32',
      sparse: false,
      name: `${PROBE}_in${i}`,
    },
    inbound_nodes: [],
  }));
  const topology = {
    class_name: 'Model',
    config: {
      name: `${PROBE}_model`,
      layers: [
        ...inputs,
        {
          class_name: layer.className,
          name: PROBE,
          config,
          inbound_nodes: [inputs.map((i) => [i.name, 0, 0, {}])],
        },
      ],
      input_layers: inputs.map((i) => [i.name, 0, 0]),
      output_layers: [[PROBE, 0, 0]],
    },
    keras_version: '2.15.0',
    backend: 'tensorflow',
  };
  const model = await tf.models.modelFromJSON({
    modelTopology: tfjsCompatibleTopology(topology) as unknown as tf.io.ModelArtifacts['modelTopology'],
  } as Parameters<typeof tf.models.modelFromJSON>[0]);
  const out = model.outputs[0]!.shape;
  const c = out[out.length - 1];
  if (Number.isFinite(shape.out) && c !== shape.out) {
    model.dispose();
    throw new Error(`built alone it has ${c} output channels, not ${shape.out}`);
  }
  return model;
}

/**
 * Times several one-layer probes of one layer (its full size and its pruned variants) alternately:
 * each is warmed up, then the samples go round-robin (A B C A B C ...), so drift on a shared machine
 * hits every variant alike. A variant tfjs cannot build alone comes back as its Error.
 */
async function timeVariants(
  layer: LayerIR,
  shapes: readonly LayerShape[],
  options: CalibrationOptions,
): Promise<(number | Error)[]> {
  const now = options.now ?? (() => performance.now());
  const minSample = options.minSampleMs ?? 2;
  const built: ({ model: tf.LayersModel; xs: tf.Tensor[]; run: () => Promise<void> } | Error)[] = [];
  try {
    for (const shape of shapes) {
      try {
        const model = await buildProbe(layer, shape);
        const xs = shape.inputs.map((s) => tf.randomUniform(s));
        const info: TimedRun = {
          kind: 'layer',
          layer: layer.name,
          className: layer.className,
          inputShapes: shape.inputs,
          outChannels: shape.out,
        };
        const run = async () => {
          const y = model.predict(xs.length === 1 ? xs[0]! : xs) as tf.Tensor;
          options.onRun?.(info);
          await settle(y);
          y.dispose();
        };
        built.push({ model, xs, run });
      } catch (e) {
        built.push(e instanceof Error ? e : new Error(String(e)));
      }
    }
    const inner = built.map(() => 1);
    for (const [i, b] of built.entries()) {
      if (b instanceof Error) continue;
      let single = Infinity;
      for (let w = 0; w < Math.max(1, options.warmup ?? 1); w++) {
        const t0 = now();
        await b.run();
        single = Math.min(single, now() - t0);
      }
      if (minSample > 0 && single < minSample) {
        inner[i] = Math.min(32, Math.ceil(minSample / Math.max(single, 1e-3)));
      }
    }
    const samples: number[][] = built.map(() => []);
    for (let r = 0; r < Math.max(1, options.repeats ?? 5); r++) {
      for (const [i, b] of built.entries()) {
        if (b instanceof Error) continue;
        if (options.signal?.aborted) throw abortError('Latency calibration was cancelled.');
        const t0 = now();
        for (let k = 0; k < inner[i]!; k++) await b.run();
        samples[i]!.push((now() - t0) / inner[i]!);
      }
    }
    return built.map((b, i) => (b instanceof Error ? b : median(samples[i]!)));
  } finally {
    for (const b of built) {
      if (b instanceof Error) continue;
      tf.dispose(b.xs);
      b.model.dispose();
    }
  }
}

interface Probe {
  layer: LayerIR;
  shape: LayerShape;
  /** Which layer effect (group, kept) it measures; undefined for the full-size run. */
  group?: number;
  kept?: number;
  axis?: LatencyAxis;
}

/**
 * Calibrates the latency model on the active backend: the whole model (warm-up, repeats, median),
 * then each layer whose channels a chosen group changes, alone, at full size and with that group alone
 * at each of `calibrationCounts(size)` kept channels. Identical probes (same class, config and shapes)
 * are timed once. Reports progress after each probe, checks `signal` between and within them, awaits
 * `yieldEvery` between them. Layers tfjs cannot build alone are listed in `skipped`.
 */
export async function calibrateLatency(
  parts: LatencyModelParts,
  options: CalibrationOptions = {},
): Promise<LatencyCalibration> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const { artifacts, ir, graph } = parts;
  const batch = options.batch ?? 1;
  const costs = makeCostModel(ir, graph);
  const fullShapes = shapesUnder(ir, costs.evaluate({ version: 1, remove: {} }), batch);
  const chosen = chooseGroups(graph, options.groups);
  const clusterOf = new Map(chosen.map((g) => [g.id, latencyCluster(g)]));

  // Plan the probes: per group and kept count, every layer whose input or output channels change.
  const probes: Probe[] = [];
  const touched = new Set<string>();
  const groupCals: GroupCalibration[] = [];
  for (const g of chosen) {
    const counts = calibrationCounts(g.size, options.fractions);
    groupCals.push({
      producer: g.producer,
      size: g.size,
      counts: [...counts, g.size],
      cluster: clusterOf.get(g.id)!,
    });
    for (const kept of counts) {
      const remove = Array.from({ length: g.size - kept }, (_, i) => i);
      const shapes = shapesUnder(ir, costs.evaluate({ version: 1, remove: { [g.producer]: remove } }), batch);
      for (const layer of ir.layers) {
        if (layer.className === 'InputLayer') continue;
        const s = shapes.get(layer.name)!;
        const same = sameShape(s, fullShapes.get(layer.name)!);
        if (same.in && same.out) continue;
        touched.add(layer.name);
        probes.push({ layer, shape: s, group: g.id, kept, axis: same.out ? 'in' : same.in ? 'out' : 'both' });
      }
    }
  }
  // Every layer at full size: their sum against the whole model scales the deltas (see latency-model.ts).
  const fullProbes: Probe[] = ir.layers
    .filter((l) => l.className !== 'InputLayer')
    .map((layer) => ({ layer, shape: fullShapes.get(layer.name)! }));
  const all = [...fullProbes, ...probes];
  // Check runs per cluster: each cluster's groups pruned by `clusterCheck`, alone.
  const share = options.check ?? 0.3;
  const clusterShare = share > 0 ? (options.clusterCheck ?? 0.5) : 0;
  const clusterPlans: { cluster: string; kept: Record<string, number>; plan: PruningPlan }[] = [];
  if (clusterShare > 0) {
    for (const name of [...new Set(clusterOf.values())].sort()) {
      const kept: Record<string, number> = {};
      const plan: PruningPlan = { version: 1, remove: {} };
      for (const g of chosen) {
        if (clusterOf.get(g.id) !== name) continue;
        const n = Math.min(g.size - 1, Math.floor(clusterShare * g.size));
        if (n <= 0) continue;
        kept[g.producer] = g.size - n;
        plan.remove[g.producer] = Array.from({ length: n }, (_, i) => i);
      }
      if (Object.keys(kept).length > 0) clusterPlans.push({ cluster: name, kept, plan });
    }
  }
  const total = all.length + 1 + clusterPlans.length;
  let done = 0;
  const step = () => {
    done++;
    const elapsed = (now() - started) / 1000;
    options.onProgress?.(done, total, (elapsed / done) * (total - done));
  };

  // Each touched layer with its variants, timed alternately; identical probes (same class, config
  // and shapes: repeated blocks) are timed once.
  const signature = (p: Probe) =>
    `${p.layer.className}|${JSON.stringify({ ...p.layer.config, name: '' })}|${JSON.stringify(p.shape)}`;
  const cache = new Map<string, number | Error>();
  const timed = new Map<Probe, number>();
  const skipped = new Map<string, string>();
  const byLayer = new Map<string, Probe[]>();
  for (const p of all) byLayer.set(p.layer.name, [...(byLayer.get(p.layer.name) ?? []), p]);
  for (const list of byLayer.values()) {
    if (options.signal?.aborted) throw abortError('Latency calibration was cancelled.');
    const todo = [
      ...new Map(list.filter((p) => !cache.has(signature(p))).map((p) => [signature(p), p])).values(),
    ];
    if (todo.length > 0) {
      const times = await timeVariants(
        todo[0]!.layer,
        todo.map((p) => p.shape),
        options,
      );
      todo.forEach((p, i) => cache.set(signature(p), times[i]!));
    }
    for (const p of list) {
      const t = cache.get(signature(p))!;
      if (t instanceof Error) skipped.set(p.layer.name, t.message);
      else timed.set(p, t);
      step();
    }
    if (options.yieldEvery) await options.yieldEvery();
  }

  // The whole model, last, when the backend is warm (a cold first run is several times slower); and
  // the check: every chosen group pruned by `check`, measured against it, alternated (A B A B).
  const checkKept: Record<string, number> = {};
  const checkPlan: PruningPlan = { version: 1, remove: {} };
  if (share > 0) {
    for (const g of chosen) {
      const n = Math.min(g.size - 1, Math.floor(share * g.size));
      if (n <= 0) continue;
      checkKept[g.producer] = g.size - n;
      checkPlan.remove[g.producer] = Array.from({ length: n }, (_, i) => i);
    }
  }
  const model = await loadLayersModelFromArtifacts(artifacts);
  let base: LatencySample;
  let check: LatencyCalibration['check'];
  const checks: LatencyCheck[] = [];
  try {
    const timing = { ...options, batch, warmup: Math.max(2, options.warmup ?? 1) };
    // One pruned model at a time (memory), each alternated with the original.
    for (const cp of clusterPlans) {
      if (options.signal?.aborted) throw abortError('Latency calibration was cancelled.');
      const pruned = await loadLayersModelFromArtifacts(applyPlan(artifacts, cp.plan, ir, graph).artifacts);
      try {
        const c = await compareModelLatency(model, pruned, timing);
        checks.push({ kept: cp.kept, ms: c.b.medianMs, baselineMs: c.a.medianMs, cluster: cp.cluster });
      } finally {
        pruned.dispose();
      }
      step();
      if (options.yieldEvery) await options.yieldEvery();
    }
    if (Object.keys(checkKept).length > 0) {
      const pruned = await loadLayersModelFromArtifacts(applyPlan(artifacts, checkPlan, ir, graph).artifacts);
      try {
        const c = await compareModelLatency(model, pruned, timing);
        base = c.a;
        check = { kept: checkKept, ms: c.b.medianMs, baselineMs: c.a.medianMs };
      } finally {
        pruned.dispose();
      }
    } else base = await measureModelLatency(model, timing);
  } finally {
    model.dispose();
  }
  step();

  const producerOf = new Map(chosen.map((g) => [g.id, g]));
  const layers: LayerLatency[] = [];
  let layerSumMs = 0;
  for (const fp of fullProbes) {
    const name = fp.layer.name;
    const ms = timed.get(fp);
    if (skipped.has(name) || ms === undefined) continue;
    layerSumMs += ms;
    if (!touched.has(name)) continue;
    const byGroup = new Map<number, { axis: LatencyAxis; points: LatencyPoint[] }>();
    for (const p of probes) {
      if (p.layer.name !== name) continue;
      const t = timed.get(p);
      if (t === undefined) continue;
      const e = byGroup.get(p.group!) ?? { axis: p.axis!, points: [] };
      e.points.push({ kept: p.kept!, ms: t });
      byGroup.set(p.group!, e);
    }
    layers.push({
      name,
      className: fp.layer.className,
      ms,
      effects: [...byGroup].map(([id, e]) => {
        const g = producerOf.get(id)!;
        return {
          group: g.producer,
          axis: e.axis,
          points: [...e.points.sort((a, b) => a.kept - b.kept), { kept: g.size, ms }],
        };
      }),
    });
  }
  return {
    version: 1,
    fingerprint: modelFingerprint(ir),
    backend: options.backend ?? tf.getBackend(),
    batch,
    baselineMs: base.medianMs,
    baselineSpreadMs: [base.minMs, base.maxMs],
    layerSumMs,
    ...(check ? { check } : {}),
    ...(check && checks.length > 0 ? { checks } : {}),
    warmup: options.warmup ?? 1,
    repeats: options.repeats ?? 5,
    groups: groupCals,
    layers,
    skipped: [...skipped].map(([layer, reason]) => ({ layer, reason })),
    seconds: (now() - started) / 1000,
  };
}

function chooseGroups(graph: ChannelGraph, names: readonly string[] | undefined): ChannelGroup[] {
  const prunable = graph.groups.filter((g) => g.prunable && g.size > 1);
  if (!names) return prunable;
  const ids = new Set<number>();
  for (const n of names) {
    const id = graph.groupByProducer[n];
    if (id === undefined) throw new Error(`'${n}' is not a producer of the model.`);
    ids.add(id);
  }
  return prunable.filter((g) => ids.has(g.id));
}
