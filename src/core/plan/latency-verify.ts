/**
 * A latency plan verified on this device (NetAdapt, Yang et al. ECCV 2018, measures each proposal):
 * plan with the calibrated latency model, build the pruned model, measure it against the original
 * (alternated), and when the measured speed-up misses the stated one by more than `tolerance`, refit
 * the latency model to that measurement (`refitToMeasurement`: it is then exact at a plan next to the
 * one wanted) and plan again; at most `iterations` measurements. The stated figure of the result is
 * the prediction of the last model for the last plan, next to every proposal's measured figure.
 *
 * Example: `await planLatencyMeasured(opened, cal, scores, costs, {kind: 'speedup', factor: 2}, {maxRatio: 0.9})`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { CostModel } from '../metrics/costs';
import { compareModelLatency, type LatencyModelParts, type TimingOptions } from '../metrics/latency';
import { makeLatencyModel, refitToMeasurement, type LatencyCalibration } from '../metrics/latency-model';
import { loadLayersModelFromArtifacts } from '../io/tf-artifacts';
import { applyPlan } from '../surgery/apply-plan';
import {
  planLatency,
  type LatencyPlanOptions,
  type LatencyPlanResult,
  type LatencyTarget,
} from './latency-plan';

/** One measured proposal: what the model said and what the device did, alternated with the original. */
export interface LatencyProposal {
  predictedSpeedup: number;
  measuredSpeedup: number;
  measuredMs: number;
  baselineMs: number;
}

export interface MeasuredLatencyPlanResult extends LatencyPlanResult {
  /** Every proposal measured, in order (the last one is the returned plan when it was within tolerance). */
  proposals: LatencyProposal[];
  /** True when the returned plan itself was measured (within tolerance of its stated speed-up). */
  verified: boolean;
  /** The calibration refitted to the last measurement (or the one given). */
  calibration: LatencyCalibration;
}

export interface MeasuredPlanOptions extends LatencyPlanOptions {
  /** Measurements at most (default 2; 0: plan only). */
  iterations?: number;
  /** Relative miss of measured against stated speed-up accepted without a re-plan (default 0.05). */
  tolerance?: number;
  /** Timing of each measurement (repeats, clock, signal...). */
  timing?: TimingOptions;
  /** Called after each measurement. */
  onProposal?: (p: LatencyProposal) => void;
  /** The original model, live, when the caller has it (else built from the artifacts and disposed). */
  original?: tf.LayersModel;
}

export async function planLatencyMeasured(
  parts: LatencyModelParts,
  cal: LatencyCalibration,
  scores: Readonly<Record<string, Float32Array>>,
  costModel: CostModel,
  target: LatencyTarget,
  options: MeasuredPlanOptions = {},
): Promise<MeasuredLatencyPlanResult> {
  const { artifacts, ir, graph } = parts;
  const iterations = Math.max(0, options.iterations ?? 2);
  const tolerance = options.tolerance ?? 0.05;
  let current = cal;
  let r = planLatency(graph, scores, makeLatencyModel(current, graph), costModel, target, options);
  const proposals: LatencyProposal[] = [];
  let verified = false;
  const original =
    options.original ?? (iterations > 0 ? await loadLayersModelFromArtifacts(artifacts) : undefined);
  try {
    for (let i = 0; i < iterations && Object.keys(r.plan.remove).length > 0; i++) {
      const pruned = await loadLayersModelFromArtifacts(applyPlan(artifacts, r.plan, ir, graph).artifacts);
      let c: Awaited<ReturnType<typeof compareModelLatency>>;
      try {
        c = await compareModelLatency(original!, pruned, { repeats: 5, ...options.timing });
      } finally {
        pruned.dispose();
      }
      const p: LatencyProposal = {
        predictedSpeedup: r.predictedSpeedup,
        measuredSpeedup: c.b.medianMs > 0 ? c.a.medianMs / c.b.medianMs : Infinity,
        measuredMs: c.b.medianMs,
        baselineMs: c.a.medianMs,
      };
      proposals.push(p);
      options.onProposal?.(p);
      if (Math.abs(p.measuredSpeedup / p.predictedSpeedup - 1) <= tolerance) {
        verified = true;
        break;
      }
      current = refitToMeasurement(current, graph, r.plan, p.measuredMs, p.baselineMs);
      r = planLatency(graph, scores, makeLatencyModel(current, graph), costModel, target, options);
    }
  } finally {
    if (!options.original) original?.dispose();
  }
  return { ...r, proposals, verified, calibration: current };
}
