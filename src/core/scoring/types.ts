/** Criteria ids, their menu entries, and the options of the scoring entry points. */
import type * as tf from '@tensorflow/tfjs';

/**
 * A scoring criterion (see FIELD-NOTES "Importance criteria"). Weight-based: `l1`, `l2`, `fpgm`,
 * `bn-scale`, `random`; data-based (need a live model and a sample set): `apoz`,
 * `mean-activation`, `taylor`. Every score is an importance: higher = keep, lower = prune first.
 */
export type Criterion = 'l1' | 'l2' | 'fpgm' | 'bn-scale' | 'random' | 'apoz' | 'mean-activation' | 'taylor';

/** A criterion as menus and `--criterion` list it. */
export interface CriterionInfo {
  id: Criterion;
  label: string;
  description: string;
  /** True when it needs a live model and a sample set (`scoreGroupsWithData`). */
  dataBased: boolean;
}

/** The criteria, for menus and `--criterion`, weight-based first. */
export const CRITERIA: readonly CriterionInfo[] = [
  {
    id: 'l1',
    label: 'L1 norm',
    description: "Sum of a filter's absolute kernel weights (Li et al. 2017).",
    dataBased: false,
  },
  {
    id: 'l2',
    label: 'L2 norm',
    description: "Square root of the sum of a filter's squared kernel weights.",
    dataBased: false,
  },
  {
    id: 'fpgm',
    label: 'FPGM',
    description:
      "Sum of distances to the layer's other filters: filters near the geometric median are redundant (He et al. 2019).",
    dataBased: false,
  },
  {
    id: 'bn-scale',
    label: 'BN scale',
    description:
      '|gamma| of the BatchNorm after the filter (Network Slimming, Liu et al. 2017); L1 norm where the group has no BN scale.',
    dataBased: false,
  },
  {
    id: 'random',
    label: 'Random',
    description: 'Seeded random scores: the baseline a criterion must beat.',
    dataBased: false,
  },
  {
    id: 'apoz',
    label: 'APoZ',
    description: 'One minus the share of zero activations after ReLU over the sample set (Hu et al. 2016).',
    dataBased: true,
  },
  {
    id: 'mean-activation',
    label: 'Mean activation',
    description:
      "Mean of the channel's (post-activation) output over the sample set (Molchanov et al. 2017).",
    dataBased: true,
  },
  {
    id: 'taylor',
    label: 'Taylor (first order)',
    description:
      "|sum of activation x gradient of the loss| over the sample set (Molchanov et al. 2019), on the labels or the model's own predictions.",
    dataBased: true,
  },
];

/** Whether a criterion needs a sample set and a live model. */
export function isDataBased(criterion: Criterion): boolean {
  return CRITERIA.find((c) => c.id === criterion)?.dataBased ?? false;
}

/** How a group's score combines its layers' scores, channel by channel. */
export type GroupReduction = 'sum' | 'mean' | 'max';

/** Options of `scoreGroups`. */
export interface ScoreOptions {
  /** How the criterion is combined over the group's producers (and BN scales): default `'sum'`. */
  reduction?: GroupReduction;
  /**
   * Also count `|gamma|` of every BatchNormalization in the group (Network Slimming's scale factor,
   * Liu et al. ICCV 2017) as one more term of the reduction. Default false.
   */
  bnScale?: boolean;
  /** Seed of the `random` criterion (default 0): the same seed gives the same scores. */
  seed?: number;
}

/** Options of `scoreGroupsWithData`, on top of `ScoreOptions`. */
export interface DataScoreOptions extends ScoreOptions {
  /**
   * Samples per forward pass (default 16; Taylor 8, as its gradient tape keeps every activation, and
   * a copy of it, until the backward pass: MobileNetV2 at 224x224 needs about 150 MB per sample).
   */
  batchSize?: number;
  /**
   * How Taylor sums over samples: `'abs-of-sum'` (default) is `|sum over samples and positions of
   * a * dL/da|`, the loss change of removing the channel on the whole set; `'sum-of-abs'` takes each
   * sample's `|sum over positions|` first (Molchanov et al. ICLR 2017), which does not cancel out
   * where the model sits at a minimum of the loss on the set.
   */
  taylor?: 'abs-of-sum' | 'sum-of-abs';
  /** Use only the first N samples of the set (default: all). */
  maxSamples?: number;
  /** Aborting it stops between batches with an `Error` named 'AbortError'. */
  signal?: AbortSignal;
  /** Called after each batch with the samples done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Awaited between batches so the page can paint (e.g. `tf.nextFrame` in the browser). */
  yieldEvery?: () => Promise<void>;
}

/**
 * The samples data-based criteria run the model on: anything that hands out `[n, h, w, c]` float32
 * batches (evaluate's `SampleSource`), or a plain `.plss` set (NHWC bytes, value = byte / 255).
 */
export type ScoringSamples = SampleShape &
  (
    | { batch(start: number, end: number): tf.Tensor4D }
    | {
        /** `count * height * width * channels` bytes, NHWC; value = byte / 255. */
        pixels: Uint8Array;
      }
  );

/** Count, image size and labels of a sample set. */
export interface SampleShape {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** One class index per sample, or null for an unlabelled set. */
  readonly labels: ArrayLike<number> | null;
}
