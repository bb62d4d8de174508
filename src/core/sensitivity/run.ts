/** What sensitivity analysis and global sweeps share: evaluating artifacts, timing, subsets, CSV cells. */
import type { ModelArtifactsData } from '../ir/artifacts';
import { abortError, evaluateModels, topOneAgreement } from '../evaluate/evaluate';
import type { SampleSet } from '../evaluate/sample-set';
import { loadLayersModelFromArtifacts } from '../io/tf-artifacts';

/** Options every long job takes. */
export interface JobOptions {
  /** Samples per forward pass (default 64). */
  batchSize?: number;
  /** Use only the first N samples of the set (default: all). */
  maxSamples?: number;
  /** Aborting it stops between (and within) evaluations with an `Error` named 'AbortError'. */
  signal?: AbortSignal;
  /** Called after each evaluation: evaluations done, total, and the estimated seconds left. */
  onProgress?: (done: number, total: number, etaSeconds: number) => void;
  /** Awaited between batches and evaluations so the page can paint (`tf.nextFrame` in the browser). */
  yieldEvery?: () => Promise<void>;
}

/** The first `n` samples of a set, sharing its bytes. */
export function headOf(set: SampleSet, n: number | undefined): SampleSet {
  if (n === undefined || n >= set.count) return set;
  const count = Math.max(0, Math.floor(n));
  const per = set.height * set.width * set.channels;
  return {
    ...set,
    count,
    pixels: set.pixels.subarray(0, count * per),
    labels: set.labels ? set.labels.subarray(0, count) : null,
  };
}

/** A model's score on the set: top-1 accuracy (null without labels) and agreement with the original's predictions. */
export interface Scored {
  accuracy: number | null;
  agreement: number;
  predictions: Int32Array;
}

/** Loads artifacts, evaluates them on `set`, and disposes the model, whatever happens. */
export async function scoreArtifacts(
  artifacts: ModelArtifactsData,
  set: SampleSet,
  original: Int32Array | null,
  options: JobOptions,
): Promise<Scored> {
  if (options.signal?.aborted) throw abortError();
  const model = await loadLayersModelFromArtifacts(artifacts);
  try {
    const evalOptions: Parameters<typeof evaluateModels>[2] = {};
    if (options.batchSize !== undefined) evalOptions.batchSize = options.batchSize;
    if (options.signal) evalOptions.signal = options.signal;
    if (options.yieldEvery) evalOptions.yieldEvery = options.yieldEvery;
    const r = await evaluateModels([model], set, evalOptions);
    const predictions = r.predictions[0]!;
    return {
      accuracy: r.accuracy[0] ?? null,
      agreement: original ? (topOneAgreement(original, predictions) ?? 1) : 1,
      predictions,
    };
  } finally {
    model.dispose();
  }
}

/** Counts finished steps of a job and reports them with a time-left estimate (mean time per step so far). */
export class Progress {
  private done = 0;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly report: JobOptions['onProgress'],
  ) {}

  step(): void {
    this.done++;
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = this.done > 0 ? (elapsed / this.done) * Math.max(0, this.total - this.done) : 0;
    this.report?.(this.done, this.total, eta);
  }
}

/** A CSV cell: numbers as JS prints them, null as empty, text quoted when it holds a comma, quote or newline. */
export function csvCell(v: string | number | boolean | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
