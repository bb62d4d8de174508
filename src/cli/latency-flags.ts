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
import { planLatencyMeasured } from '../core/plan/latency-verify';
import type { PlanOptions } from '../core/plan/auto';
import type { PruningPlan } from '../core/plan/plan';
import { normalizeScores, type Normalization } from '../core/scoring';

/** The flags, for `parseArgs` (spread into PLAN_FLAG_OPTIONS). */
export const LATENCY_FLAG_OPTIONS = {
  'target-latency': { type: 'string' },
  'target-speedup': { type: 'string' },
} as const;

export const LATENCY_FLAG_HELP = `        --target-latency <ms> global, until the model is predicted to run in <ms> per image here
                              (calibrated on this machine's backend first: layers timed at a few
                              filter counts; counts the backend runs badly are avoided)
        --target-speedup <x>  the same, to x times faster than the model as it is (e.g. 2)
                              (prune also measures the pruned model and prints predicted and measured)`;

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

/** Measures the pruned model against the original here (alternated, 7 each) and fills the report in. */
export async function measureLatencyAfter(
  original: ModelArtifactsData,
  pruned: ModelArtifactsData,
  report: LatencyReport,
): Promise<LatencyReport> {
  const a = await loadLayersModelFromArtifacts(pruned);
  const b = await loadLayersModelFromArtifacts(original);
  try {
    const c = await compareModelLatency(a, b, { repeats: 7 });
    return {
      ...report,
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
