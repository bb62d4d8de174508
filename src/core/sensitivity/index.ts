/**
 * Sensitivity analysis (one group at a time, at several ratios) and global sweeps (the whole model
 * at several budgets, per criterion, against random): long jobs with progress, time left, Cancel,
 * and plain-data results a store can keep and a CLI can write as CSV or JSON.
 */
export {
  DEFAULT_RATIOS,
  analyzeSensitivity,
  metricOf,
  suggestPlan,
  suggestRatios,
  toCsv,
  type ModelParts,
  type SensitivityCurve,
  type SensitivityOptions,
  type SensitivityPoint,
  type SensitivityResult,
} from './sensitivity';
export {
  DEFAULT_TARGETS,
  globalSweep,
  sweepToCsv,
  type SweepOptions,
  type SweepPoint,
  type SweepResult,
  type SweepSeries,
} from './sweep';
export { headOf, type JobOptions } from './run';
