import type { Criterion, GroupReduction, Normalization } from '../core/scoring';
import type { SensitivityCurve, SensitivityResult, SweepResult } from '../core/sensitivity';

/**
 * The `analysis` slice of the workbench store: scoring options and the results of the long analysis
 * jobs (data-based scoring, sensitivity analysis, global sweep) as plain data; their status and
 * progress are in the jobs slice (jobs.ts).
 * Live tensors, models and the score cache stay in analysis-actions.ts and the registry.
 */

/** Settings of the automatic plans panel (kept when the user switches views). */
export interface AutoPlanSettings {
  /** `ratio`: the same share of every layer; `global`: one ranking across layers to a target. */
  mode: 'ratio' | 'global';
  kind: 'params' | 'flops' | 'channels';
  /** Share to remove, in percent. */
  percent: number;
  /** At most this share of one group, in percent (100: no cap). */
  maxRatioPercent: number;
  /** Keep a multiple of N channels per group (1: no rounding). */
  roundTo: number;
  /** Producers to leave alone. */
  ignore: string[];
  /**
   * Global FLOPs targets, with a calibration here: rank for speed on this device
   * (`core/plan/speed-aware.ts`). Absent (sessions saved before it) means on.
   */
  forSpeed?: boolean;
}

export interface SensitivitySettings {
  criterion: Criterion;
  /** `all` prunable groups, or the N with most parameters at stake. */
  groups: 'all' | 'largest';
  largest: number;
  /** Ratios to try, 0..1. */
  ratios: number[];
}

export interface SensitivitySlice {
  settings: SensitivitySettings;
  /** Curves finished so far in the running job (drawn while it runs). */
  partial: SensitivityCurve[];
  result: SensitivityResult | null;
  /** Model and sample set the result belongs to. */
  modelId: number | null;
  sampleSetId: number | null;
  /** Max accuracy drop for "Suggest ratios", in points (1 = one percentage point). */
  maxDropPoints: number;
}

export interface SweepSlice {
  criterion: Criterion;
  result: SweepResult | null;
  modelId: number | null;
  sampleSetId: number | null;
}

export interface AnalysisState {
  /** How scores are normalised before a global ranking (the heatmaps show raw scores). */
  normalize: Normalization;
  /** How a coupled group combines its layers' scores. */
  reduction: GroupReduction;
  /** The criterion a data-based scoring job is computing (the store's `criterion` is the one shown), or null. */
  scoringCriterion: Criterion | null;
  autoPlan: AutoPlanSettings;
  sensitivity: SensitivitySlice;
  sweep: SweepSlice;
}

export const DEFAULT_SENSITIVITY_RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export const initialAnalysis: AnalysisState = {
  normalize: 'mean',
  reduction: 'sum',
  scoringCriterion: null,
  autoPlan: {
    mode: 'global',
    kind: 'flops',
    percent: 50,
    maxRatioPercent: 90,
    roundTo: 1,
    ignore: [],
    forSpeed: true,
  },
  sensitivity: {
    settings: { criterion: 'l1', groups: 'all', largest: 8, ratios: DEFAULT_SENSITIVITY_RATIOS },
    partial: [],
    result: null,
    modelId: null,
    sampleSetId: null,
    maxDropPoints: 1,
  },
  sweep: { criterion: 'l1', result: null, modelId: null, sampleSetId: null },
};
