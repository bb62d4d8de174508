/**
 * `prune` / `plan --target-latency <ms>` and `--target-speedup <x>`: calibrate the model on this
 * machine's backend (wasm in the CLI), plan to the target with `planLatency`, state the predicted
 * latency; after `prune`, measure the pruned model against the original, alternated, and state both.
 */
import type { OpenedModel } from '../core/load';
import type { ModelArtifactsData } from '../core/ir/artifacts';
import { loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { calibrateLatency, compareModelLatency } from '../core/metrics/latency';
import { makeCostModel } from '../core/metrics/costs';
import { describeLatencyTarget, type LatencyTarget } from '../core/plan/latency-plan';
import type { SpeedAwarePlanResult } from '../core/plan/speed-aware';
import { makeLatencyModel, type LatencyModel } from '../core/metrics/latency-model';
import { planLatencyMeasured } from '../core/plan/latency-verify';
import type { PlanOptions } from '../core/plan/auto';
import type { PruningPlan } from '../core/plan/plan';
import { normalizeScores, type Normalization } from '../core/scoring';

/** The flags, for `parseArgs` (spread into PLAN_FLAG_OPTIONS). */
export const LATENCY_FLAG_OPTIONS = {
  'target-latency': { type: 'string' },
  'target-speedup': { type: 'string' },
  'for-speed': { type: 'boolean' },
} as const;

export const LATENCY_FLAG_HELP = `        --target-latency <ms> global, until the model is predicted to run in <ms> per image here
                              (calibrated on this machine's backend first: layers timed at a few
                              filter counts; counts the backend runs badly are avoided)
        --target-speedup <x>  the same, to x times faster than the model as it is (e.g. 2)
                              (prune also measures the pruned model and prints predicted and measured)
        --for-speed           with --target-flops: calibrate here first and rank channels whose FLOPs
                              cost the most time here a little earlier, just enough that the plan
                              is predicted to run at least 0.95 of its FLOPs ratio faster (the plain
                              ranking when it already does, or when no ranking gets there)`;

/** What a latency plan reports (`prune --json` / `plan --json`: `latency`). */
export interface LatencyReport {
  target: LatencyTarget;
  backend: string;
  calibrationSeconds: number;
  baselineMs: number;
  predictedMs: number;
  predictedSpeedup: number;
  /** Filled in by `prune` after it measured the pruned model. */
  measuredMs?: number;
  measuredBaselineMs?: number;
  measuredSpeedup?: number;
  measuredSpreadMs?: [number, number];
  /**
   * The plan was measured here while planning and re-planned from the measurement when it missed its
   * stated speed-up by more than 5% (at most twice): each proposal's predicted and measured speed-up.
   */
  proposals?: { predictedSpeedup: number; measuredSpeedup: number }[];
  /** True when the plan returned was itself measured within 5% of its stated speed-up. */
  verified?: boolean;
}

/** Checks `--target-latency` / `--target-speedup`; `usage` makes the command-line error. */
export function parseLatencyFlags(
  v: { 'target-latency'?: string | undefined; 'target-speedup'?: string | undefined },
  usage: (message: string) => Error,
): LatencyTarget | undefined {
  const ms = v['target-latency'];
  const x = v['target-speedup'];
  if (ms !== undefined && x !== undefined)
    throw usage('Give one of --target-latency and --target-speedup, not both.');
  if (ms !== undefined) {
    const n = Number(ms);
    if (!(ms.trim() !== '' && Number.isFinite(n) && n > 0))
      throw usage(`--target-latency must be a number of milliseconds > 0, got '${ms}'.`);
    return { kind: 'latency', ms: n };
  }
  if (x !== undefined) {
    const n = Number(x.replace(/x$/i, ''));
    if (!(x.trim() !== '' && Number.isFinite(n) && n >= 1))
      throw usage(`--target-speedup must be a number >= 1 (2 for twice as fast), got '${x}'.`);
    return { kind: 'speedup', factor: n };
  }
  return undefined;
}

function progressLine(): ((done: number, total: number, eta: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total, eta) =>
    process.stderr.write(
      `\rCalibrating latency: ${done}/${total}, about ${Math.round(eta)} s left   ${done === total ? '\n' : ''}`,
    );
}

/** Calibrates `m` on the active backend and plans to `target` from raw scores (normalised here). */
export async function planToLatency(
  m: OpenedModel,
  target: LatencyTarget,
  raw: Record<string, Float32Array>,
  normalize: Normalization,
  options: PlanOptions,
): Promise<{
  plan: PruningPlan;
  latency: LatencyReport;
  removed: { params: number; flops: number; channels: number };
  met: boolean;
}> {
  const onProgress = progressLine();
  const cal = await calibrateLatency(m, onProgress ? { onProgress } : {});
  // Plan, build, measure against the original; re-plan from the measurement when it misses (<= 2x).
  const r = await planLatencyMeasured(
    m,
    cal,
    normalizeScores(raw, normalize),
    makeCostModel(m.ir, m.graph),
    target,
    {
      ...options,
      iterations: 2,
    },
  );
  return {
    plan: r.plan,
    removed: r.removed,
    met: r.met,
    latency: {
      target,
      backend: cal.backend,
      calibrationSeconds: cal.seconds,
      baselineMs: r.baselineMs,
      predictedMs: r.predictedMs,
      predictedSpeedup: r.predictedSpeedup,
      proposals: r.proposals.map((p) => ({
        predictedSpeedup: p.predictedSpeedup,
        measuredSpeedup: p.measuredSpeedup,
      })),
      verified: r.verified,
    },
  };
}

/** What `prune` measured: the pruned model against the original here, alternated, 7 each. */
export interface MeasuredSpeed {
  measuredMs: number;
  measuredBaselineMs: number;
  measuredSpeedup: number;
  measuredSpreadMs: [number, number];
}

/** Measures the pruned model against the original here (alternated, 7 each). */
export async function measureSpeed(
  original: ModelArtifactsData,
  pruned: ModelArtifactsData,
): Promise<MeasuredSpeed> {
  const a = await loadLayersModelFromArtifacts(pruned);
  const b = await loadLayersModelFromArtifacts(original);
  try {
    const c = await compareModelLatency(a, b, { repeats: 7 });
    return {
      measuredMs: c.a.medianMs,
      measuredBaselineMs: c.b.medianMs,
      measuredSpeedup: c.b.medianMs / c.a.medianMs,
      measuredSpreadMs: [c.a.minMs, c.a.maxMs],
    };
  } finally {
    a.dispose();
    b.dispose();
  }
}

/** Measures the pruned model against the original here and fills the report in. */
export async function measureLatencyAfter(
  original: ModelArtifactsData,
  pruned: ModelArtifactsData,
  report: LatencyReport,
): Promise<LatencyReport> {
  return { ...report, ...(await measureSpeed(original, pruned)) };
}

/** What a `--for-speed` FLOPs plan reports (`prune --json` / `plan --json`: `speed`). */
export interface SpeedReport extends Partial<MeasuredSpeed> {
  backend: string;
  calibrationSeconds: number;
  baselineMs: number;
  predictedMs: number;
  predictedSpeedup: number;
  /** FLOPs before / after. */
  flopsRatio: number;
  /** The plain ranking's plan to the same target, predicted here. */
  plainPredictedSpeedup: number;
  /** How far the ranking was weighted for speed (0: the plain ranking). */
  strength: number;
  /** Whether the predicted speed-up reaches 0.95 of the FLOPs ratio (`DEFAULT_REALIZE`). */
  realized: boolean;
  /** Importance (normalised scores) removed, over the plain ranking's. */
  importanceRatio: number;
  /** Not realized: `overhead` (no weighting gets there) or `importance` (the one that does costs > 1.25x). */
  shortBy?: 'overhead' | 'importance';
}

/** Calibrates `m` on the active backend for `--for-speed` (progress on a terminal). */
export async function calibrateForSpeed(
  m: OpenedModel,
): Promise<{ model: LatencyModel; backend: string; seconds: number }> {
  const onProgress = progressLine();
  const cal = await calibrateLatency(m, onProgress ? { onProgress } : {});
  return { model: makeLatencyModel(cal, m.graph), backend: cal.backend, seconds: cal.seconds };
}

/** The report of a speed-ranked plan. */
export function speedReport(r: SpeedAwarePlanResult, cal: { backend: string; seconds: number }): SpeedReport {
  return {
    backend: cal.backend,
    calibrationSeconds: cal.seconds,
    baselineMs: r.baselineMs,
    predictedMs: r.predictedMs,
    predictedSpeedup: r.predictedSpeedup,
    flopsRatio: r.flopsRatio,
    plainPredictedSpeedup: r.plain.predictedSpeedup,
    strength: r.strength,
    realized: r.realized,
    importanceRatio: r.importanceRatio,
    ...(r.shortBy ? { shortBy: r.shortBy } : {}),
  };
}

/** One line for the text summary of a `--for-speed` plan. */
export function speedLine(r: SpeedReport): string {
  const ranked =
    r.strength > 0
      ? `ranked for speed on ${r.backend} (strength ${r.strength}, ${r.importanceRatio.toFixed(2)}x the importance of the plain ranking, which was predicted ${r.plainPredictedSpeedup.toFixed(2)}x)`
      : `the plain ranking on ${r.backend} (${
          r.realized
            ? 'it already reaches 0.95 of its FLOPs ratio here'
            : r.shortBy === 'importance'
              ? 'the weighting that reaches 0.95 of its FLOPs ratio removes over 1.25x its importance'
              : 'no weighting reaches 0.95 of its FLOPs ratio here'
        })`;
  const measured =
    r.measuredSpeedup === undefined
      ? ''
      : `; measured ${r.measuredSpeedup.toFixed(2)}x (median of 7 alternated)`;
  return `For speed: FLOPs /${r.flopsRatio.toFixed(2)}, predicted ${r.predictedSpeedup.toFixed(2)}x faster here, ${ranked}, calibrated in ${r.calibrationSeconds.toFixed(1)} s${measured}.`;
}

/** One line for the text summary. */
export function latencyLine(r: LatencyReport): string {
  const f = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
  const predicted = `Latency target ${describeLatencyTarget(r.target)} on ${r.backend}: predicted ${f(r.predictedMs)} of ${f(r.baselineMs)} (${r.predictedSpeedup.toFixed(2)}x), calibrated in ${r.calibrationSeconds.toFixed(1)} s`;
  const checks = r.proposals?.length
    ? `; checked while planning: ${r.proposals.map((p) => `${p.predictedSpeedup.toFixed(2)}x stated, ${p.measuredSpeedup.toFixed(2)}x measured`).join(', then ')}${r.verified ? '' : ' (re-planned from the last measurement)'}`
    : '';
  if (r.measuredMs === undefined || r.measuredBaselineMs === undefined) return `${predicted}${checks}.`;
  return `${predicted}${checks}; measured ${f(r.measuredMs)} against ${f(r.measuredBaselineMs)} (${(r.measuredSpeedup ?? 0).toFixed(2)}x, median of 7 alternated).`;
}
