/**
 * Latency on this device, in the page: calibrate the open model on the active backend (a job of kind
 * 'latency' through `runJob`: progress, Cancel), plan to a target in ms or speed-up
 * (`core/plan/latency-plan.ts`), state the predicted latency before "Apply as ticks", and measure the
 * applied plan here, predicted against measured. Calibrations are plain data kept in this module by
 * model fingerprint and backend (a second calibration of the same model on the same backend is not
 * needed); the store's `latency` slice holds the settings, a summary and the measurements by plan key.
 */
import * as tf from '@tensorflow/tfjs';
import { modelFingerprint } from '../core/io/fingerprint';
import { loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { calibrateLatency, compareModelLatency } from '../core/metrics/latency';
import {
  calibrationKey,
  makeLatencyModel,
  type LatencyCalibration,
  type LatencyModel,
} from '../core/metrics/latency-model';
import {
  describeLatencyTarget,
  planLatency,
  type LatencyPlanResult,
  type LatencyTarget,
} from '../core/plan/latency-plan';
import { planKey } from '../core/plan/key';
import { planLatencyMeasured, type LatencyProposal } from '../core/plan/latency-verify';
import type { PruningPlan } from '../core/plan/plan';
import { normalizeScores, type Normalization } from '../core/scoring';
import { applyPlan } from '../core/surgery/apply-plan';
import { frameYielder, planOptionsOf } from './analysis-actions';
import type { AutoPlanSettings } from './analysis-slice';
import { cancelJob, runJob } from './jobs';
import { commitPlan } from './plan-slice';
import { getModel } from './registry';
import { useWorkbench, type WorkbenchState } from './store';

/** A plan's latency measured here, against what the calibration predicted for it. */
export interface MeasuredLatency {
  predictedMs: number | null;
  /** The pruned model, median and spread, alternated with the original. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** The original, measured in the same run. */
  baselineMs: number;
  repeats: number;
  backend: string;
}

/** The store's `latency` slice: plain data. */
export interface LatencyState {
  /** The automatic plans panel plans to a latency target. */
  enabled: boolean;
  unit: 'speedup' | 'ms';
  /** "2x faster here". */
  speedup: number;
  /** Target in ms per image (0: not set yet, the panel shows half the calibrated baseline). */
  ms: number;
  /** The calibration of the open model on this backend, summarised; the table stays in this module. */
  calibrated: {
    key: string;
    backend: string;
    baselineMs: number;
    seconds: number;
    layers: number;
    skipped: number;
  } | null;
  /** Measurements by `measuredKey(session id, plan key)`. */
  measured: Record<string, MeasuredLatency>;
  /** "Apply and verify here": the proposals measured on the way to a plan, by its measured key. */
  verified?: Record<string, VerifiedLatencyPlan>;
}

/** The proposals "Apply and verify here" measured before it applied a plan (NetAdapt-style loop). */
export interface VerifiedLatencyPlan {
  target: string;
  proposals: LatencyProposal[];
  /** The applied plan was itself measured within 5% of its stated speed-up. */
  verified: boolean;
  /** What the (refitted) latency model states for the applied plan. */
  predictedSpeedup: number;
}

const get = useWorkbench.getState;
const set = useWorkbench.setState;

/** Calibrations by `calibrationKey` (model fingerprint, backend, batch), for this tab's lifetime. */
const calibrations = new Map<string, LatencyCalibration>();
/** Fitted models by calibration key and model id. */
const fitted = new Map<string, LatencyModel>();

function patch(p: Partial<LatencyState>): void {
  set((s) => ({ latency: { ...s.latency, ...p } }));
}

/** The calibration key of the open model on the active backend, or null without a model. */
export function currentCalibrationKey(session: WorkbenchState['session']): string | null {
  if (!session) return null;
  return calibrationKey(modelFingerprint(session.ir), tf.getBackend());
}

/** The open model's calibration on this backend, if one was made in this tab. */
export function currentCalibration(session: WorkbenchState['session']): LatencyCalibration | undefined {
  const key = currentCalibrationKey(session);
  return key === null ? undefined : calibrations.get(key);
}

/** The open model's fitted latency model here (its calibration on this backend), if calibrated in this tab. */
export function latencyModelOf(session: NonNullable<WorkbenchState['session']>): LatencyModel | undefined {
  const key = currentCalibrationKey(session);
  const cal = key === null ? undefined : calibrations.get(key);
  if (!key || !cal) return undefined;
  const id = `${key}|${session.id}`;
  let m = fitted.get(id);
  if (!m) fitted.set(id, (m = makeLatencyModel(cal, session.graph)));
  return m;
}

/** Where a plan's measurement is filed: per open model and plan key. */
export function measuredKey(sessionId: number, key: string): string {
  return `${sessionId}:${key}`;
}

/** Keeps a calibration made elsewhere (plain data, e.g. saved by the CLI) for its model and backend. */
export function keepCalibration(cal: LatencyCalibration): void {
  calibrations.set(calibrationKey(cal.fingerprint, cal.backend, cal.batch), cal);
}

/** Changes the latency target settings. */
export function setLatencyTarget(
  p: Partial<Pick<LatencyState, 'enabled' | 'unit' | 'speedup' | 'ms'>>,
): void {
  patch(p);
}

function summarise(key: string, cal: LatencyCalibration): NonNullable<LatencyState['calibrated']> {
  return {
    key,
    backend: cal.backend,
    baselineMs: cal.baselineMs,
    seconds: cal.seconds,
    layers: cal.layers.length,
    skipped: cal.skipped.length,
  };
}

/**
 * "Calibrate on this device": times the open model's layers at a few channel counts on the active
 * backend, as the job 'latency' (progress, Cancel). Kept for the model and backend.
 */
export async function calibrateHere(): Promise<void> {
  const { session } = get();
  if (!session) return;
  const key = currentCalibrationKey(session)!;
  const known = calibrations.get(key);
  if (known) {
    patch({ calibrated: summarise(key, known) });
    return;
  }
  const { opened } = getModel(session.id);
  const cal = await runJob(
    'latency',
    ({ signal, progress }) =>
      calibrateLatency(opened, {
        signal,
        onProgress: (done, total) => progress(done, total),
        yieldEvery: frameYielder(),
      }),
    { replace: true, label: `Calibrating on this device (${tf.getBackend()})` },
  );
  if (!cal) return;
  calibrations.set(key, cal);
  if (get().session?.id === session.id) patch({ calibrated: summarise(key, cal) });
}

/** Stops a running calibration or measurement. */
export function cancelLatencyJob(): void {
  cancelJob('latency');
}

/** The target the settings describe (ms 0 means half the baseline). */
export function latencyTargetOf(s: LatencyState, baselineMs: number): LatencyTarget {
  return s.unit === 'speedup'
    ? { kind: 'speedup', factor: s.speedup > 0 ? s.speedup : 1 }
    : { kind: 'latency', ms: s.ms > 0 ? s.ms : baselineMs / 2 };
}

function toFloat(scores: Readonly<Record<string, readonly number[]>>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, Float32Array.from(v)]));
}

/**
 * The latency plan the panel would apply with these settings (the automatic plans' cap, rounding and
 * layers left alone; scores normalised as for a global ranking), or null when there is no model or
 * calibration for it on this backend.
 */
export function previewLatencyPlan(
  session: WorkbenchState['session'],
  scores: Readonly<Record<string, readonly number[]>>,
  normalize: Normalization,
  auto: AutoPlanSettings,
  latency: LatencyState,
): LatencyPlanResult | { error: string } | null {
  if (!session || !latency.calibrated || latency.calibrated.key !== currentCalibrationKey(session))
    return null;
  const model = latencyModelOf(session);
  if (!model) return null;
  const options = planOptionsOf(auto);
  try {
    return planLatency(
      session.graph,
      normalizeScores(toFloat(scores), normalize),
      model,
      getModel(session.id).costModel,
      latencyTargetOf(latency, model.baselineMs),
      options,
    );
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** "Apply as ticks" for the latency plan: one named step, e.g. "latency plan to 2x faster". */
export function applyLatencyPlan(): void {
  const { session, scores, analysis, latency } = get();
  const r = previewLatencyPlan(session, scores, analysis.normalize, analysis.autoPlan, latency);
  if (!r) return;
  if ('error' in r) {
    set({ notice: r.error });
    return;
  }
  const target = latencyTargetOf(latency, r.baselineMs);
  commitPlan(r.plan, `latency plan to ${describeLatencyTarget(target)}`, { anchor: null });
}

/**
 * "Apply and verify here": plans to the target, builds the plan and measures it against the
 * original (alternated), and when it misses its stated speed-up by more than 5% refits the latency
 * model to that measurement and plans again, at most twice (`planLatencyMeasured`, as the CLI's
 * `--target-speedup` does). Applies the last plan as one step, files the proposals it measured
 * under it, and keeps the refitted calibration for this model and backend. A job of kind 'latency'
 * (progress by proposal, Cancel).
 */
export async function applyVerifiedLatencyPlan(): Promise<void> {
  const { session, scores, analysis, latency } = get();
  if (!session) return;
  const key = currentCalibrationKey(session);
  const cal = key === null ? undefined : calibrations.get(key);
  if (!key || !cal) return;
  const entry = getModel(session.id);
  const auto = analysis.autoPlan;
  const target = latencyTargetOf(latency, cal.baselineMs);
  const iterations = 2;
  let seen = 0;
  const r = await runJob(
    'latency',
    async ({ signal, progress, label }) => {
      progress(0, iterations);
      label('Planning and measuring the plan here');
      entry.tfModel ??= await loadLayersModelFromArtifacts(entry.opened.artifacts);
      return planLatencyMeasured(
        entry.opened,
        cal,
        normalizeScores(toFloat(scores), analysis.normalize),
        entry.costModel,
        target,
        {
          ...planOptionsOf(auto),
          iterations,
          original: entry.tfModel,
          timing: { signal },
          onProposal: (p) => {
            const n = ++seen;
            progress(n, iterations);
            label(
              `Proposal ${n}: stated ${p.predictedSpeedup.toFixed(2)}x, measured ${p.measuredSpeedup.toFixed(2)}x` +
                (Math.abs(p.measuredSpeedup / p.predictedSpeedup - 1) > 0.05 && n < iterations
                  ? '; re-planning from the measurement'
                  : ''),
            );
          },
        },
      );
    },
    { replace: true, label: `Planning to ${describeLatencyTarget(target)} and measuring here` },
  );
  if (!r || get().session?.id !== session.id) return;
  // The refitted calibration is exact next to the plan measured: later predictions use it.
  calibrations.set(key, r.calibration);
  for (const id of [...fitted.keys()]) if (id.startsWith(`${key}|`)) fitted.delete(id);
  commitPlan(r.plan, `latency plan to ${describeLatencyTarget(target)}, measured here`, { anchor: null });
  const record: VerifiedLatencyPlan = {
    target: describeLatencyTarget(target),
    proposals: r.proposals,
    verified: r.verified,
    predictedSpeedup: r.predictedSpeedup,
  };
  const at = measuredKey(session.id, planKey(r.plan));
  set((s) => ({ latency: { ...s.latency, verified: { ...s.latency.verified, [at]: record } } }));
}

/** Predicted latency of any plan with the open model's calibration here, or null without one. */
export function predictLatency(session: WorkbenchState['session'], plan: PruningPlan): number | null {
  if (!session) return null;
  const m = latencyModelOf(session);
  return m ? m.predict(plan) : null;
}

/**
 * "Measure": times the current plan's pruned model here against the original, alternated (A B A B,
 * `repeats` each, after a warm-up), and files the result under the plan key with the prediction.
 */
export async function measurePlanLatency(repeats = 7): Promise<void> {
  const { session, plan } = get();
  if (!session) return;
  const key = planKey(plan);
  const { opened } = getModel(session.id);
  const r = await runJob(
    'latency',
    async ({ signal, label }) => {
      label('Building the pruned model');
      const original = await loadLayersModelFromArtifacts(opened.artifacts);
      let pruned: tf.LayersModel | undefined;
      try {
        pruned = await loadLayersModelFromArtifacts(
          applyPlan(opened.artifacts, plan, opened.ir, opened.graph).artifacts,
        );
        label('Measuring, original and pruned in turn');
        return await compareModelLatency(pruned, original, { repeats, signal });
      } finally {
        original.dispose();
        pruned?.dispose();
      }
    },
    { replace: true, planKey: key, label: 'Measuring latency here' },
  );
  if (!r || get().session?.id !== session.id) return;
  const m: MeasuredLatency = {
    predictedMs: predictLatency(session, plan),
    medianMs: r.a.medianMs,
    minMs: r.a.minMs,
    maxMs: r.a.maxMs,
    baselineMs: r.b.medianMs,
    repeats,
    backend: tf.getBackend(),
  };
  const at = measuredKey(session.id, key);
  set((s) => ({ latency: { ...s.latency, measured: { ...s.latency.measured, [at]: m } } }));
}
