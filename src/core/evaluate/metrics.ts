/**
 * Accuracy figures from collected class probabilities (`[n, k]` row-major in one Float32Array), and
 * a latency measurement. The figures are plain loops over plain arrays, so the page, the worker and
 * the CLI agree to the last sample.
 *
 * Ties: the top-1 class of a row is its first maximum (as `tf.argMax`), and a label's rank counts
 * the classes scoring strictly higher plus those scoring the same at a lower index, so top-1 from
 * `labelRank` and from `topOneClasses` always agree. NaN scores rank below everything.
 */
import * as tf from '@tensorflow/tfjs';
import { abortError } from './evaluate';

function score(v: number): number {
  return Number.isNaN(v) ? -Infinity : v;
}

function checkRows(probs: Float32Array, numOutputs: number): number {
  if (!Number.isInteger(numOutputs) || numOutputs < 1)
    throw new RangeError(`numOutputs must be a positive integer, got ${numOutputs}.`);
  if (probs.length % numOutputs !== 0)
    throw new Error(`${probs.length} probabilities are not rows of ${numOutputs}.`);
  return probs.length / numOutputs;
}

/** The top-1 class of each row (first maximum). Example: rows `[0.2, 0.5, 0.5]` -> 1. */
export function topOneClasses(probs: Float32Array, numOutputs: number): Int32Array {
  const n = checkRows(probs, numOutputs);
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    let bestScore = score(probs[r * numOutputs]!);
    for (let j = 1; j < numOutputs; j++) {
      const s = score(probs[r * numOutputs + j]!);
      if (s > bestScore) {
        best = j;
        bestScore = s;
      }
    }
    out[r] = best;
  }
  return out;
}

/** 0-based rank of `label` in row `row` (0 = top-1); ties go to the lower index. */
export function labelRank(probs: Float32Array, numOutputs: number, row: number, label: number): number {
  const base = row * numOutputs;
  const mine = score(probs[base + label]!);
  let rank = 0;
  for (let j = 0; j < numOutputs; j++) {
    const s = score(probs[base + j]!);
    if (s > mine || (s === mine && j < label)) rank++;
  }
  return rank;
}

/** Accuracy on one class: `correct` of its `count` samples were top-1. */
export interface ClassAccuracy {
  label: number;
  count: number;
  correct: number;
  /** correct / count, null for a class with no samples. */
  accuracy: number | null;
}

export interface ClassificationMetrics {
  samples: number;
  /** Null for an empty set. */
  top1: number | null;
  /** Top-`topK` accuracy (5, or the class count when smaller); null for an empty set. */
  top5: number | null;
  topK: number;
  /** One entry per class `0..numClasses-1`. */
  perClass: ClassAccuracy[];
  /** `numClasses * numClasses` counts, row = true label, column = predicted class. */
  confusion: Int32Array;
  numClasses: number;
}

/**
 * Top-1, top-5, per-class accuracy and the confusion matrix of `[n, numOutputs]` probabilities
 * against labels. The matrix is `max(numClasses, numOutputs)` square so every prediction has a column.
 * Example: probabilities `[[0.9, 0.1], [0.6, 0.4]]`, labels `[0, 1]` -> top1 0.5, confusion `[[1, 0], [1, 0]]`.
 */
export function classificationMetrics(
  probs: Float32Array,
  numOutputs: number,
  labels: ArrayLike<number>,
  numClasses = numOutputs,
): ClassificationMetrics {
  const n = checkRows(probs, numOutputs);
  if (labels.length !== n) throw new Error(`${labels.length} labels for ${n} rows of probabilities.`);
  const size = Math.max(numClasses, numOutputs);
  const topK = Math.min(5, numOutputs);
  const predicted = topOneClasses(probs, numOutputs);
  const confusion = new Int32Array(size * size);
  const count = new Array<number>(size).fill(0);
  const correct = new Array<number>(size).fill(0);
  let top1 = 0;
  let top5 = 0;
  for (let r = 0; r < n; r++) {
    const label = labels[r]!;
    if (!Number.isInteger(label) || label < 0 || label >= size)
      throw new RangeError(`Label ${label} of sample ${r} is outside 0..${size - 1}.`);
    const p = predicted[r]!;
    confusion[label * size + p]!++;
    count[label]!++;
    if (p === label) {
      correct[label]!++;
      top1++;
    }
    if (label < numOutputs && labelRank(probs, numOutputs, r, label) < topK) top5++;
  }
  const perClass = count.map((c, label) => ({
    label,
    count: c,
    correct: correct[label]!,
    accuracy: c === 0 ? null : correct[label]! / c,
  }));
  return {
    samples: n,
    top1: n === 0 ? null : top1 / n,
    top5: n === 0 ? null : top5 / n,
    topK,
    perClass,
    confusion,
    numClasses: size,
  };
}

/**
 * Mean over rows of `KL(p || q) = sum_j p_j log(p_j / q_j)`, in nats, with `p` the original's and
 * `q` the pruned model's probabilities; `q` is floored at `epsilon` and terms with `p_j = 0` are 0.
 * Null for no rows. Example: `p = [0.5, 0.5]`, `q = [0.25, 0.75]` -> `0.5 ln 2 + 0.5 ln(2/3) = 0.1438`.
 */
export function meanKlDivergence(
  p: Float32Array,
  q: Float32Array,
  numOutputs: number,
  epsilon = 1e-7,
): number | null {
  const n = checkRows(p, numOutputs);
  if (q.length !== p.length) throw new Error(`KL: ${p.length} vs ${q.length} probabilities.`);
  if (n === 0) return null;
  let total = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    if (pi > 0) total += pi * Math.log(pi / Math.max(q[i]!, epsilon));
  }
  return total / n;
}

/** The median of a list (mean of the middle two for an even count); NaN for an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface LatencyOptions {
  /** Runs before timing starts, to compile kernels and fill caches (default 3). */
  warmup?: number;
  /** Timed runs (default 20). */
  runs?: number;
  /** Images per run (default 1: latency per image as a user feels it). */
  batchSize?: number;
  /** The input shape without the batch axis, where the model's is open (e.g. `[224, 224, 3]`). */
  inputShape?: readonly number[];
  signal?: AbortSignal;
  /** Awaited between runs (not timed). */
  yieldEvery?: () => Promise<void>;
  /** A clock in ms (default `performance.now`); tests pass a fake one. */
  now?: () => number;
}

export interface LatencyResult {
  /** Median time of one run (predict + read back), ms. */
  medianMs: number;
  /** `medianMs / batchSize`. */
  perImageMs: number;
  /** Every timed run, ms, in order. */
  runsMs: number[];
  batchSize: number;
  backend: string;
}

/**
 * Latency of `model` on the active backend: `warmup` untimed runs, then the median of `runs` timed
 * ones, each `predict` on a fixed input plus `await data()` of the output (so GPU backends finish).
 * Not a test figure: it depends on the machine and what else runs.
 */
export async function measureLatency(
  model: tf.LayersModel,
  opts: LatencyOptions = {},
): Promise<LatencyResult> {
  const warmup = opts.warmup ?? 3;
  const runs = opts.runs ?? 20;
  const batchSize = opts.batchSize ?? 1;
  const now = opts.now ?? (() => performance.now());
  if (!Number.isInteger(runs) || runs < 1)
    throw new RangeError(`runs must be a positive integer, got ${runs}.`);
  const declared = model.inputs[0]?.shape.slice(1) ?? [];
  const shape = declared.map((d, i) => {
    const v = d ?? opts.inputShape?.[i];
    if (v == null) throw new Error(`Model '${model.name}' has an open input size; pass inputShape.`);
    return v;
  });
  const x = tf.tidy(() => tf.randomUniform([batchSize, ...shape], 0, 1, 'float32', 1));
  const once = async (): Promise<void> => {
    const y = model.predict(x);
    try {
      await (Array.isArray(y) ? Promise.all(y.map((t) => t.data())) : y.data());
    } finally {
      tf.dispose(y);
    }
  };
  const runsMs: number[] = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      if (opts.signal?.aborted) throw abortError('Latency measurement was cancelled.');
      const t0 = now();
      await once();
      const t1 = now();
      if (i >= warmup) runsMs.push(t1 - t0);
      if (opts.yieldEvery) await opts.yieldEvery();
    }
  } finally {
    x.dispose();
  }
  const medianMs = median(runsMs);
  return { medianMs, perImageMs: medianMs / batchSize, runsMs, batchSize, backend: tf.getBackend() };
}
