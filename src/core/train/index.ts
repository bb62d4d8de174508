/** Recovery after pruning: BatchNorm re-estimation, fine-tuning with optional distillation, and the artifacts that record it. */
export {
  reestimateBatchNorm,
  type BatchNormEstimate,
  type ReestimateOptions,
  type ReestimateResult,
} from './batch-norm';
export {
  fineTune,
  type BatchProgress,
  type EpochRecord,
  type FineTuneOptions,
  type FineTuneResult,
  type OptimizerName,
  type ValFigures,
} from './fine-tune';
export {
  artifactsAfterFineTune,
  fineTuneRecord,
  readFineTuneHistory,
  type FineTuneRecord,
} from './artifacts';
export { restoreWeights, snapshotWeights, type WeightSnapshot } from './weights';
