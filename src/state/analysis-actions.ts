/**
 * Actions of the `analysis` slice: criteria (data-based ones as cancellable jobs), the score cache,
 * automatic plans, sensitivity analysis and global sweeps.
 *
 * Off the main thread, or chunked on it? Chunked on it, with time slices: a job awaits
 * `tf.nextFrame()` between batches once it has worked for `SLICE_MS` since the last frame.
 * Measured (production build, headless Chromium 2 shared cores, wasm backend, bundled sample,
 * 2000 digits; "lag" is how late a 20 ms timer fires on the main thread, i.e. how long a click waits):
 *
 *   job                               total     p95 lag   max lag
 *   sensitivity, 3 layers x 9 ratios
 *     main thread, no yielding        17.4 s    17.4 s    17.4 s   (the page is frozen throughout)
 *     main, nextFrame every batch     20.6 s      54 ms    367 ms
 *     main, nextFrame every 25 ms     16.9 s      73 ms    167 ms  <- chosen
 *     module worker (own wasm)        15.6 s       6 ms    147 ms  (0.85 s of it starting tfjs + wasm)
 *   Taylor scores, 2000 samples
 *     main thread, no yielding         6.5 s     6.5 s     6.5 s
 *     main, nextFrame every batch      7.9 s      72 ms    165 ms
 *     main, nextFrame every 25 ms      6.8 s      77 ms    142 ms  <- chosen
 *     module worker (own wasm)        11.0 s      11 ms    239 ms
 *
 * The worker answers clicks sooner (p95 6-11 ms against 70-80 ms), but both stay well under the
 * 100 ms in which a response feels immediate, and the worker costs: a second tfjs with its own
 * backend (WebGL there needs OffscreenCanvas and a second GL context, so on a GPU machine it would
 * run wasm, slower than the page's WebGL), copies of the model and sample set, the live model the
 * preview already built cannot be shared, and Taylor ran slower in it here. Yielding every batch
 * costs 15-20% in waits for frames; slicing keeps the throughput of the unyielded run. What is left
 * of the lag is the indivisible step of a sensitivity point (applyPlan + building the tf model).
 * In a hidden tab requestAnimationFrame does not fire, so there the job does not yield at all.
 */
import * as tf from '@tensorflow/tfjs';
import {
  CRITERIA,
  isDataBased,
  normalizeScores,
  scoreGroups,
  scoreGroupsWithData,
  type Criterion,
  type DataScoreOptions,
  type GroupReduction,
  type Normalization,
} from '../core/scoring';
import { planLowestFraction, type PlanOptions } from '../core/plan/auto';
import { planGlobal, type GlobalFigures } from '../core/plan/global';
import { planGlobalForSpeed } from '../core/plan/speed-aware';
import type { LatencyModel } from '../core/metrics/latency-model';
import type { PruningPlan } from '../core/plan/plan';
import {
  analyzeSensitivity,
  globalSweep,
  suggestPlan,
  suggestRatios,
  type SensitivityResult,
} from '../core/sensitivity';
import { loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { getModel, getSampleSet } from './registry';
import { useWorkbench, type WorkbenchState } from './store';
import {
  initialAnalysis,
  type AnalysisState,
  type AutoPlanSettings,
  type SensitivitySettings,
} from './analysis-slice';
import { cancelJob as cancelAnyJob, resetJobs, runJob } from './jobs';
import { commitPlan } from './plan-slice';

const set = useWorkbench.setState;
const get = useWorkbench.getState;

type Scores = Record<string, Float32Array>;

/** How Taylor sums over samples: per sample first, which does not cancel out at a loss minimum (see DataScoreOptions). */
export const TAYLOR_MODE: DataScoreOptions['taylor'] = 'sum-of-abs';

// ---------------------------------------------------------------------------------------------
// Score cache: per model id + criterion + options (+ sample-set id for data-based criteria).
// Weight-based scores do not depend on the sample set, so it is not part of their key. Entries of
// a model or sample set that is no longer open are dropped when the inputs change.

const scoreCache = new Map<string, Scores>();

function cacheKey(
  modelId: number,
  criterion: Criterion,
  reduction: GroupReduction,
  sampleSetId: number | null,
): string {
  const options = isDataBased(criterion) ? `${reduction}/${TAYLOR_MODE}` : reduction;
  return `${modelId}|${criterion}|${options}|${isDataBased(criterion) ? (sampleSetId ?? '-') : '-'}`;
}

/**
 * The scores of one producer under every criterion computed so far for the open model (and sample
 * set, for data-based ones), for the inspector: `[{criterion: 'l1', scores}, ...]`.
 */
export function computedScores(producer: string): { criterion: Criterion; scores: Float32Array }[] {
  const { session, sampleSet, analysis } = get();
  if (!session) return [];
  const out: { criterion: Criterion; scores: Float32Array }[] = [];
  for (const c of CRITERIA) {
    const hit = scoreCache.get(cacheKey(session.id, c.id, analysis.reduction, sampleSet?.id ?? null));
    const s = hit?.[producer];
    if (s) out.push({ criterion: c.id, scores: s });
  }
  return out;
}

/** Number of cached score sets (for tests and the jobs panel). */
export function cachedScoreCount(): number {
  return scoreCache.size;
}

function toArrays(scores: Scores): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [layer, s] of Object.entries(scores)) out[layer] = Array.from(s);
  return out;
}

function toFloat(scores: Readonly<Record<string, readonly number[]>>): Scores {
  const out: Scores = {};
  for (const [layer, s] of Object.entries(scores)) out[layer] = Float32Array.from(s);
  return out;
}

function weightScores(modelId: number, criterion: Criterion, reduction: GroupReduction): Scores {
  const key = cacheKey(modelId, criterion, reduction, null);
  let hit = scoreCache.get(key);
  if (!hit) {
    const { opened } = getModel(modelId);
    hit = scoreGroups(opened.ir, opened.artifacts, opened.graph, criterion, { reduction });
    scoreCache.set(key, hit);
  }
  return hit;
}

function cached(criterion: Criterion): Scores | undefined {
  const { session, sampleSet, analysis } = get();
  if (!session) return undefined;
  if (!isDataBased(criterion)) return weightScores(session.id, criterion, analysis.reduction);
  return scoreCache.get(cacheKey(session.id, criterion, analysis.reduction, sampleSet?.id ?? null));
}

/**
 * Scores for a model that is being opened (actions.ts `openFiles`), synchronously: a weight-based
 * criterion is computed (and cached); a data-based one gives L1 scores until its job has run (the
 * store subscription below starts it once the model and sample set are in the store).
 */
export function scoresForOpen(modelId: number, criterion: Criterion): Record<string, number[]> {
  const reduction = get().analysis.reduction;
  return toArrays(weightScores(modelId, isDataBased(criterion) ? 'l1' : criterion, reduction));
}

async function liveModel(modelId: number): Promise<tf.LayersModel> {
  const entry = getModel(modelId);
  if (!entry.tfModel) {
    const m = await loadLayersModelFromArtifacts(entry.opened.artifacts);
    if (entry.tfModel) m.dispose();
    else entry.tfModel = m;
  }
  return entry.tfModel;
}

/**
 * Scores of any criterion for the open model and sample set, from the cache or computed: a
 * data-based criterion runs the model on the sample set in batches, yielding a frame between them.
 */
async function ensureScores(
  criterion: Criterion,
  signal: AbortSignal,
  onProgress?: (done: number, total: number) => void,
): Promise<Scores> {
  const hit = cached(criterion);
  if (hit) return hit;
  const { session, sampleSet, analysis } = get();
  if (!session) throw new Error('No model is open.');
  if (!sampleSet) throw new Error(`${labelOf(criterion)} needs a sample set: drop a .plss file.`);
  const key = cacheKey(session.id, criterion, analysis.reduction, sampleSet.id);
  const model = await liveModel(session.id);
  const { opened } = getModel(session.id);
  const options: DataScoreOptions = {
    reduction: analysis.reduction,
    taylor: TAYLOR_MODE,
    signal,
    yieldEvery: frameYielder(),
  };
  if (onProgress) options.onProgress = onProgress;
  const scores = await scoreGroupsWithData(
    model,
    opened.ir,
    opened.artifacts,
    opened.graph,
    criterion,
    getSampleSet(sampleSet.id),
    options,
  );
  // Only cache what still matches the inputs (the user may have opened another model meanwhile).
  const now = get();
  if (now.session?.id === session.id && now.sampleSet?.id === sampleSet.id) scoreCache.set(key, scores);
  return scores;
}

/** Work this long on the main thread between two frames (see the measurements above). */
export const SLICE_MS = 25;

/**
 * A `yieldEvery` for the core's long jobs: awaits `tf.nextFrame()` once `SLICE_MS` of work ran since
 * the last frame, so input and paint get their turn; never in a hidden tab, where frames stop. With
 * `wait: 'task'` it gives the event loop one turn instead (`nextTask`): input is handled and a frame
 * painted when one is due, without idling until the next frame (the preview's choice: there the wait
 * for a frame, about half a frame a slice, was the gap to plain predict).
 */
export function frameYielder(
  sliceMs = SLICE_MS,
  { wait = 'frame' }: { wait?: 'frame' | 'task' } = {},
): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < sliceMs || globalThis.document?.hidden) return;
    await (wait === 'task' ? nextTask() : tf.nextFrame());
    last = performance.now();
  };
}

/**
 * Gives the event loop one turn: input is handled, and the page is painted when a frame is due,
 * without waiting for the next frame as `requestAnimationFrame` does (on average half a frame, a
 * cost every slice pays). `scheduler.yield()` where the browser has it, else a message to ourselves.
 */
export function nextTask(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof scheduler?.yield === 'function') return scheduler.yield();
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

/** The menu label of a criterion. */
export function labelOf(criterion: Criterion): string {
  return CRITERIA.find((c) => c.id === criterion)?.label ?? criterion;
}

// ---------------------------------------------------------------------------------------------
// Jobs run through jobs.ts `runJob` (status, progress, Cancel); results go to the analysis slice.

type AnalysisJob = 'scoring' | 'sensitivity' | 'sweep';

function patchAnalysis(patch: (a: AnalysisState) => Partial<AnalysisState>): void {
  set((s) => ({ analysis: { ...s.analysis, ...patch(s.analysis) } }));
}

/** Cancels a running job (data-based scoring, sensitivity analysis or global sweep). */
export function cancelJob(kind: AnalysisJob): void {
  cancelAnyJob(kind);
}

// ---------------------------------------------------------------------------------------------
// Criterion, reduction, normalisation.

/**
 * Shows `criterion`'s scores: weight-based ones at once, data-based ones after a cancellable job
 * on the sample set (the heatmaps keep the previous scores meanwhile). Replaces `setCriterion`.
 */
export function chooseCriterion(criterion: Criterion): void {
  const { session, sampleSet } = get();
  cancelAnyJob('scoring');
  if (!session) {
    set({ criterion, scores: {} });
    patchAnalysis(() => ({ scoringCriterion: null }));
    return;
  }
  const hit = cached(criterion);
  if (hit) {
    set({ criterion, scores: toArrays(hit) });
    patchAnalysis(() => ({ scoringCriterion: null }));
    return;
  }
  if (!sampleSet) {
    set({ notice: `${labelOf(criterion)} is computed on a sample set: drop a .plss file first.` });
    return;
  }
  void runScoring(criterion);
}

async function runScoring(criterion: Criterion): Promise<void> {
  const sessionId = get().session?.id;
  patchAnalysis(() => ({ scoringCriterion: criterion }));
  const scores = await runJob(
    'scoring',
    ({ signal, progress }) => ensureScores(criterion, signal, (done, total) => progress(done, total)),
    { replace: true, label: `Scoring with ${labelOf(criterion)}` },
  );
  if (get().analysis.scoringCriterion === criterion) patchAnalysis(() => ({ scoringCriterion: null }));
  if (!scores || get().session?.id !== sessionId) return;
  set({ criterion, scores: toArrays(scores), notice: null });
}

/** Sets how a coupled group combines its layers' scores, and rescores. */
export function setReduction(reduction: GroupReduction): void {
  patchAnalysis(() => ({ reduction }));
  const { analysis, criterion, jobs } = get();
  chooseCriterion(jobs.scoring.status === 'running' ? (analysis.scoringCriterion ?? criterion) : criterion);
}

/** Sets how scores are normalised before a global ranking (automatic plans and sweeps). */
export function setNormalization(normalize: Normalization): void {
  patchAnalysis(() => ({ normalize }));
}

// ---------------------------------------------------------------------------------------------
// Automatic plans.

/** Changes settings of the automatic plans panel. */
export function setAutoPlan(patch: Partial<AutoPlanSettings>): void {
  patchAnalysis((a) => ({ autoPlan: { ...a.autoPlan, ...patch } }));
}

/** What an automatic plan reaches, stated before it is applied. */
export interface AutoPlanPreview {
  plan: PruningPlan;
  baseline: GlobalFigures;
  reached: GlobalFigures;
  /** Shares removed, 0..1. */
  removed: GlobalFigures;
  met: boolean;
  /** A global FLOPs plan ranked for speed here (with a calibration): how, and what it is predicted to give. */
  speed?: {
    strength: number;
    predictedSpeedup: number;
    plainPredictedSpeedup: number;
    flopsRatio: number;
    realized: boolean;
    importanceRatio: number;
    shortBy?: 'overhead' | 'importance';
  };
}

/** The planners' limits the automatic plans panel sets: cap per group, rounding, layers left alone. */
export function planOptionsOf(s: AutoPlanSettings): PlanOptions {
  return {
    ...(s.maxRatioPercent < 100 ? { maxRatio: s.maxRatioPercent / 100 } : {}),
    ...(s.roundTo > 1 ? { roundTo: Math.floor(s.roundTo) } : {}),
    ...(s.ignore.length > 0 ? { ignore: s.ignore } : {}),
  };
}

/**
 * The plan the automatic plans panel would apply with these settings, and what it reaches:
 * `mode: 'ratio'` is `planLowestFraction`, `'global'` is `planGlobal` on the normalised scores.
 */
export function previewAutoPlan(
  session: WorkbenchState['session'],
  scores: Readonly<Record<string, readonly number[]>>,
  normalize: Normalization,
  s: AutoPlanSettings,
  latency?: LatencyModel,
): AutoPlanPreview | { error: string } | null {
  if (!session) return null;
  const { costModel } = getModel(session.id);
  const options = planOptionsOf(s);
  const fraction = Math.min(1, Math.max(0, s.percent / 100));
  try {
    const raw = toFloat(scores);
    if (s.mode === 'global' && s.kind === 'flops' && latency && s.forSpeed !== false) {
      const r = planGlobalForSpeed(
        session.graph,
        normalizeScores(raw, normalize),
        costModel,
        latency,
        { kind: 'flops', fraction },
        options,
      );
      return {
        plan: r.plan,
        baseline: r.baseline,
        reached: r.reached,
        removed: r.removed,
        met: r.met,
        speed: {
          strength: r.strength,
          predictedSpeedup: r.predictedSpeedup,
          plainPredictedSpeedup: r.plain.predictedSpeedup,
          flopsRatio: r.flopsRatio,
          realized: r.realized,
          importanceRatio: r.importanceRatio,
          ...(r.shortBy ? { shortBy: r.shortBy } : {}),
        },
      };
    }
    if (s.mode === 'global') {
      const r = planGlobal(
        session.graph,
        normalizeScores(raw, normalize),
        costModel,
        { kind: s.kind, fraction },
        options,
      );
      return { plan: r.plan, baseline: r.baseline, reached: r.reached, removed: r.removed, met: r.met };
    }
    const plan = planLowestFraction(session.graph, raw, fraction, options);
    const eligible = session.graph.groups.filter((g) => g.prunable && !s.ignore.includes(g.producer));
    const channels = eligible.reduce((n, g) => n + g.size, 0);
    const removedChannels = Object.values(plan.remove).reduce((n, v) => n + v.length, 0);
    const before = costModel.evaluate({ version: 1, remove: {} });
    const after = costModel.evaluate(plan);
    const share = (a: number, b: number) => (b > 0 ? (b - a) / b : 0);
    const baseline = { params: before.params, flops: before.flops, channels };
    const reached = { params: after.params, flops: after.flops, channels: channels - removedChannels };
    return {
      plan,
      baseline,
      reached,
      removed: {
        params: share(reached.params, baseline.params),
        flops: share(reached.flops, baseline.flops),
        channels: share(reached.channels, baseline.channels),
      },
      met: true,
    };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Sets the automatic plan as ticks (replacing the selection); the user can then edit it by hand.
 * `latency`: the open model's latency model here, for FLOPs plans ranked for speed (the panel passes it).
 */
export function applyAutoPlan(latency?: LatencyModel): void {
  const { session, scores, analysis } = get();
  const preview = previewAutoPlan(session, scores, analysis.normalize, analysis.autoPlan, latency);
  if (!preview) return;
  if ('error' in preview) {
    set({ notice: preview.error });
    return;
  }
  const a = analysis.autoPlan;
  const label =
    a.mode === 'ratio'
      ? `lowest ${a.percent}% in every layer`
      : `global plan to -${a.percent}% ${a.kind === 'flops' ? 'FLOPs' : a.kind}${
          preview.speed && preview.speed.strength > 0 ? ', ranked for speed here' : ''
        }`;
  commitPlan(preview.plan, label, { anchor: null });
}

// ---------------------------------------------------------------------------------------------
// Sensitivity analysis.

/** Changes the sensitivity settings (criterion, which groups, ratios). */
export function setSensitivitySettings(patch: Partial<SensitivitySettings>): void {
  patchAnalysis((a) => ({
    sensitivity: { ...a.sensitivity, settings: { ...a.sensitivity.settings, ...patch } },
  }));
}

/** Sets the max accuracy drop (in points) that "Suggest ratios" allows per layer. */
export function setMaxDrop(points: number): void {
  patchAnalysis((a) => ({ sensitivity: { ...a.sensitivity, maxDropPoints: points } }));
}

/**
 * Prunes each chosen group alone at each ratio and measures accuracy on the sample set; curves are
 * kept in the store as they complete, so they survive a view change and a Cancel.
 */
export async function runSensitivity(): Promise<void> {
  const { session, sampleSet, analysis } = get();
  if (!session || !sampleSet || get().jobs.sensitivity.status === 'running') return;
  const { settings } = analysis.sensitivity;
  patchAnalysis((a) => ({
    sensitivity: {
      ...a.sensitivity,
      partial: [],
      result: null,
      modelId: session.id,
      sampleSetId: sampleSet.id,
    },
  }));
  await runJob(
    'sensitivity',
    async ({ signal, progress }) => {
      const scores = await ensureScores(settings.criterion, signal, (done, total) => progress(done, total));
      const entry = getModel(session.id);
      const result = await analyzeSensitivity(entry.opened, scores, getSampleSet(sampleSet.id), {
        criterion: settings.criterion,
        ratios: settings.ratios,
        ...(settings.groups === 'largest' ? { groups: settings.largest } : {}),
        costModel: entry.costModel,
        signal,
        yieldEvery: frameYielder(),
        onProgress: (done, total) => progress(done, total, 'Evaluating'),
        onCurve: (curve) =>
          patchAnalysis((a) => ({
            sensitivity: { ...a.sensitivity, partial: [...a.sensitivity.partial, curve] },
          })),
      });
      if (get().session?.id === session.id)
        patchAnalysis((a) => ({ sensitivity: { ...a.sensitivity, result } }));
    },
    { label: isDataBased(settings.criterion) ? `Scoring with ${labelOf(settings.criterion)}` : null },
  );
}

/** Per-layer ratios read off the sensitivity curves within the max drop, or null without a result. */
export function suggestedRatios(
  result: SensitivityResult | null,
  maxDropPoints: number,
): Record<string, number> | null {
  return result ? suggestRatios(result, maxDropPoints / 100) : null;
}

/** Turns the sensitivity result into a plan (insensitive layers pruned more) and sets it as ticks. */
export function applySuggestedRatios(): void {
  const { session, analysis } = get();
  const { result, maxDropPoints } = analysis.sensitivity;
  if (!session || !result) return;
  const scores = cached(result.criterion as Criterion);
  if (!scores) {
    set({ notice: `The ${labelOf(result.criterion as Criterion)} scores are gone: run the analysis again.` });
    return;
  }
  const plan = suggestPlan(result, maxDropPoints / 100, session.graph, scores);
  commitPlan(plan, `suggested ratios within ${maxDropPoints} point${maxDropPoints === 1 ? '' : 's'}`, {
    anchor: null,
  });
}

// ---------------------------------------------------------------------------------------------
// Global sweep: accuracy against remaining FLOPs for global plans at several targets, against random.

/** Sets the criterion the global sweep compares with random. */
export function setSweepCriterion(criterion: Criterion): void {
  patchAnalysis((a) => ({ sweep: { ...a.sweep, criterion } }));
}

/** Runs `globalSweep` for the chosen criterion (plus the random baseline) at 10% ... 70% of FLOPs. */
export async function runSweep(): Promise<void> {
  const { session, sampleSet, analysis } = get();
  if (!session || !sampleSet || get().jobs.sweep.status === 'running') return;
  const criterion = analysis.sweep.criterion;
  patchAnalysis((a) => ({
    sweep: { ...a.sweep, result: null, modelId: session.id, sampleSetId: sampleSet.id },
  }));
  await runJob(
    'sweep',
    async ({ signal, progress }) => {
      const scores = await ensureScores(criterion, signal, (done, total) => progress(done, total));
      const entry = getModel(session.id);
      const s = analysis.autoPlan;
      const result = await globalSweep(entry.opened, { [criterion]: scores }, getSampleSet(sampleSet.id), {
        kind: 'flops',
        normalize: analysis.normalize,
        ...(s.maxRatioPercent < 100 ? { maxRatio: s.maxRatioPercent / 100 } : {}),
        costModel: entry.costModel,
        signal,
        yieldEvery: frameYielder(),
        onProgress: (done, total) => progress(done, total, 'Evaluating'),
      });
      if (get().session?.id === session.id) patchAnalysis((a) => ({ sweep: { ...a.sweep, result } }));
    },
    { label: isDataBased(criterion) ? `Scoring with ${labelOf(criterion)}` : null },
  );
}

// ---------------------------------------------------------------------------------------------
// Invalidation: a new model or sample set cancels the jobs on the old ones, drops their cached
// scores and results, and recomputes the chosen criterion.

function onInputsChanged(s: WorkbenchState, prev: WorkbenchState): void {
  const modelId = s.session?.id ?? null;
  const sampleSetId = s.sampleSet?.id ?? null;
  const wanted =
    prev.jobs.scoring.status === 'running' ? (prev.analysis.scoringCriterion ?? s.criterion) : s.criterion;
  resetJobs(['scoring', 'sensitivity', 'sweep']);
  for (const key of [...scoreCache.keys()]) {
    const [m, , , setId] = key.split('|');
    if (Number(m) !== modelId || (setId !== '-' && Number(setId) !== sampleSetId)) scoreCache.delete(key);
  }
  set((st) => ({
    analysis: {
      ...st.analysis,
      scoringCriterion: null,
      sensitivity: { ...initialAnalysis.sensitivity, settings: st.analysis.sensitivity.settings },
      sweep: { ...initialAnalysis.sweep, criterion: st.analysis.sweep.criterion },
    },
  }));
  if (!s.session || !isDataBased(wanted)) return;
  // The scores in the store were made for other inputs (or are openFiles' L1 placeholder).
  set({ criterion: 'l1', scores: toArrays(weightScores(s.session.id, 'l1', s.analysis.reduction)) });
  if (s.sampleSet) void runScoring(wanted);
  else set({ notice: `${labelOf(wanted)} needs a sample set; showing L1 norms until one is dropped.` });
}

useWorkbench.subscribe((s, prev) => {
  if (s.session?.id !== prev.session?.id || s.sampleSet?.id !== prev.sampleSet?.id) onInputsChanged(s, prev);
});

// One criterion choice: the analysis panels follow the toolbar's criterion; each can still pick
// another for a comparison, and says so.
useWorkbench.subscribe((s, prev) => {
  if (s.criterion === prev.criterion) return;
  patchAnalysis((a) => ({
    sensitivity: { ...a.sensitivity, settings: { ...a.sensitivity.settings, criterion: s.criterion } },
    sweep: { ...a.sweep, criterion: s.criterion },
  }));
});
