/**
 * State of "bring your own samples", the accuracy views and recovery (BatchNorm re-estimation,
 * fine-tuning with distillation). Plain data only: the decoded images, live models and recovered
 * artifacts sit in the registry and in recover-actions.ts.
 */
import type { BadSample, Labelling } from '../core/evaluate/image-folder';
import type { PreprocessOptions } from '../core/evaluate/preprocess';
import type { OptimizerName } from '../core/train';

/** The image folder the sample set was built from, and how it was read. */
export interface ImageSetInfo {
  name: string;
  preprocess: PreprocessOptions;
  reasons: string[];
  labelling: Labelling;
  classNames: string[];
  bad: BadSample[];
  notes: string[];
  /** A few preprocessed samples for the preview strip: `[h, w, c]` bytes and the label. */
  previews: { path: string; label: string | null; pixels: number[] }[];
}

/** Figures of one model in the accuracy view. */
export interface ModelView {
  top1: number | null;
  top5: number | null;
  perClass: { label: number; name: string; count: number; correct: number; accuracy: number | null }[];
  /** Row-major `[true][predicted]` counts, `numClasses` square. */
  confusion: number[];
  agreement: number | null;
  kl: number | null;
  latencyMs: number | null;
}

/** The accuracy view of one plan: original and pruned side by side. */
export interface CompareFigures {
  samples: number;
  numClasses: number;
  original: ModelView | null;
  pruned: ModelView | null;
  /** FLOPs after / before for the plan. */
  flopsRatio: number | null;
  backend: string | null;
}

/** One row of the fine-tuning curve. */
export interface CurveRow {
  epoch: number;
  loss: number;
  accuracy: number | null;
  valAccuracy: number | null;
  valKl: number | null;
  partial: boolean;
}

export interface FineTuneSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: OptimizerName;
  valSplit: number;
  distill: boolean;
  temperature: number;
  alpha: number;
}

/** Fine-tuning of one plan: the curve so far and the figures before and after. */
export interface FineTuneFigures {
  curve: CurveRow[];
  /** Epoch and batch now, while it runs. */
  batch: { epoch: number; batch: number; batches: number } | null;
  before: number | null;
  after: number | null;
  klBefore: number | null;
  klAfter: number | null;
  bestEpoch: number | null;
  stopped: boolean;
  /** False while it runs. */
  finished: boolean;
}

export interface RecoverState {
  images: ImageSetInfo | null;
  decoding: { done: number; total: number } | null;
  imageError: string | null;
  settings: FineTuneSettings;
}

export const initialFineTune: FineTuneFigures = {
  curve: [],
  batch: null,
  before: null,
  after: null,
  klBefore: null,
  klAfter: null,
  bestEpoch: null,
  stopped: false,
  finished: false,
};

export const initialRecover: RecoverState = {
  images: null,
  decoding: null,
  imageError: null,
  settings: {
    epochs: 3,
    batchSize: 32,
    learningRate: 0.001,
    optimizer: 'adam',
    valSplit: 0.2,
    distill: true,
    temperature: 4,
    alpha: 0.5,
  },
};
