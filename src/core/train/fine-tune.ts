/**
 * Fine-tuning a pruned model on the user's samples, optionally distilled from the original
 * (Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network", 2015).
 *
 * A custom loop, not `model.fit`: it needs the teacher's soft targets, a cancel that keeps the best
 * weights, progress per batch, and a yield so the page can paint. Per batch (mean over the batch):
 *
 *   loss = alpha * T^2 * KL(softmax(z_t / T) || softmax(z_s / T)) + (1 - alpha) * CE(labels, softmax(z_s))
 *
 * with z_t, z_s the teacher's and student's logits (`log p` stands in for a softmax output, see
 * evaluate/outputs.ts) and the model's regularisation penalties added, as `fit` adds them. The T^2
 * keeps the soft term's gradients the size of the hard term's as T changes (Hinton 2015, section 2).
 * No teacher: plain cross-entropy. No labels: pure distillation (alpha = 1). Neither: an error.
 *
 * The student runs in training mode (`model.apply(x, {training: true})`): dropout on, BatchNorm on
 * batch statistics with its moving averages updated (`batchNorm: 'batch-stats'`, tfjs' own
 * training); `'frozen'` runs it in inference mode (BN as a fixed affine map, no dropout), and is
 * chosen automatically when a BN lacks gamma or beta, which tfjs 4.22's training path cannot handle.
 *
 * The teacher's logits on the training samples are computed once, before the first epoch.
 * After each epoch the model is scored on the validation source: top-1 accuracy when it is
 * labelled, else (with a teacher) the mean KL from the teacher, lower being better. The best
 * weights, the starting ones included (epoch 0), are kept as plain arrays and put back at the end,
 * also when the signal stops the loop (then the partial epoch is scored too). Without a validation
 * set the last weights stay. The model is changed in place.
 */
import * as tf from '@tensorflow/tfjs';
import { collectProbabilities } from '../evaluate/compare';
import { meanKlDivergence, topOneClasses } from '../evaluate/metrics';
import {
  liveOutputKind,
  outputClasses,
  singleOutput,
  temperedLogProbabilities,
  toLogProbabilities,
} from '../evaluate/outputs';
import { seededRandom, shuffled, type SampleSource } from '../evaluate/sample-source';
import { runLayers } from '../scoring/observe';
import { restoreWeights, snapshotWeights, type WeightSnapshot } from './weights';

export type OptimizerName = 'adam' | 'sgd' | 'momentum';

export interface FineTuneOptions {
  epochs: number;
  /** Samples per step (default 32). */
  batchSize?: number;
  /** Default 1e-3 for adam, 1e-2 for sgd and momentum. */
  learningRate?: number;
  optimizer?: OptimizerName;
  /** Momentum of the 'momentum' optimizer (default 0.9). */
  momentum?: number;
  /** The original model, for distillation. Only read (inference mode). */
  teacher?: tf.LayersModel;
  /** Softmax temperature of the soft targets (default 4). */
  temperature?: number;
  /** Weight of the soft (teacher) term, 0..1; the labels get 1 - alpha (default 0.5; 1 without labels). */
  alpha?: number;
  /** `'batch-stats'` (default): BN trains as in `fit`; `'frozen'`: BN and dropout in inference mode. */
  batchNorm?: 'batch-stats' | 'frozen';
  /** Seed of the per-epoch shuffle (default 0). */
  seed?: number;
  /** Stops between batches; the best weights so far are kept and the result says `stopped`. */
  signal?: AbortSignal;
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Awaited between batches (e.g. `tf.nextFrame`) so the page can paint. */
  yieldEvery?: () => Promise<void>;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  /** Running top-1 accuracy on the epoch's training batches so far (null without labels). */
  accuracy: number | null;
}

/** Figures of the model on the validation source. */
export interface ValFigures {
  /** Top-1 accuracy (null when val has no labels or no samples). */
  accuracy: number | null;
  /** Top-1 agreement with the teacher (null without a teacher). */
  agreement: number | null;
  /** Mean KL(teacher || model), nats, at T = 1 (null without a teacher). */
  kl: number | null;
}

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  /** Top-1 accuracy on the training batches, in training mode (null without labels). */
  accuracy: number | null;
  valAccuracy: number | null;
  valAgreement: number | null;
  valKl: number | null;
  batches: number;
  /** True for an epoch cut short by the signal. */
  partial: boolean;
  ms: number;
}

export interface FineTuneResult {
  history: EpochRecord[];
  /** Figures before the first step. */
  before: ValFigures;
  /** Figures of the weights the model has now (the best ones). */
  after: ValFigures;
  /** Epoch whose weights were kept: 0 = the starting weights. */
  bestEpoch: number;
  /** What chose the best epoch. */
  selectedBy: 'val-accuracy' | 'val-kl' | 'last';
  stopped: boolean;
  batchNorm: 'batch-stats' | 'frozen';
  /** Effective soft-target weight (1 without labels, 0 without a teacher). */
  alpha: number;
  temperature: number;
  learningRate: number;
  optimizer: OptimizerName;
  notes: string[];
  ms: number;
}

function makeOptimizer(name: OptimizerName, lr: number, momentum: number): tf.Optimizer {
  if (name === 'adam') return tf.train.adam(lr);
  if (name === 'sgd') return tf.train.sgd(lr);
  return tf.train.momentum(lr, momentum);
}

/**
 * Disposes an optimizer and everything it holds. tfjs 4.22's `MomentumOptimizer.dispose` forgets
 * the learning-rate scalar its `SGDOptimizer` parent keeps (`c`); free it here.
 */
function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  if (optimizer instanceof tf.MomentumOptimizer) {
    const c = (optimizer as unknown as { c?: tf.Tensor }).c;
    if (c && !c.isDisposed) c.dispose();
  }
}

/** True when some BN lacks gamma or beta (tfjs' training-mode BN reads both unconditionally). */
function hasPartialBatchNorm(model: tf.LayersModel): boolean {
  return model.layers.some((l) => {
    if (l instanceof tf.LayersModel) return hasPartialBatchNorm(l);
    if (l.getClassName() !== 'BatchNormalization') return false;
    const c = l.getConfig();
    return c['scale'] === false || c['center'] === false;
  });
}

/**
 * Inference-mode forward pass that can be differentiated whatever the BNs hold: BN as the affine map
 * `x * scale + shift` (tfjs' fused BN gradient fails on a BN without gamma or beta, even frozen).
 */
function forwardFrozen(model: tf.LayersModel, x: tf.Tensor): tf.Tensor {
  const [out] = runLayers(model, x, undefined, { affineBatchNorm: true, freeEarly: false });
  if (!out) throw new Error(`Model '${model.name}' returned no output.`);
  return out;
}

/** "Logits" of every sample of `source` under `model` (log p for a softmax output), `[count, k]`. */
async function collectLogits(
  model: tf.LayersModel,
  source: SampleSource,
  batchSize: number,
  signal: AbortSignal | undefined,
): Promise<Float32Array> {
  const kind = liveOutputKind(model);
  const k = outputClasses(model);
  const out = new Float32Array(source.count * k);
  for (let start = 0; start < source.count; start += batchSize) {
    if (signal?.aborted) return out;
    const end = Math.min(source.count, start + batchSize);
    const t = tf.tidy(() => {
      const x = source.batch(start, end);
      const y = singleOutput(model.predict(x), model);
      return kind === 'logits' ? y : toLogProbabilities(y, kind);
    });
    try {
      out.set(await t.data(), start * k);
    } finally {
      t.dispose();
    }
  }
  return out;
}

/** Val figures of `model`, given the teacher's val probabilities (or null). */
async function scoreVal(
  model: tf.LayersModel,
  val: SampleSource,
  teacherProbs: Float32Array | null,
  batchSize: number,
): Promise<ValFigures> {
  if (val.count === 0) return { accuracy: null, agreement: null, kl: null };
  const { probs, numOutputs } = await collectProbabilities([model], val, {
    batchSize: Math.max(batchSize, 64),
  });
  const p = probs[0]!;
  const predicted = topOneClasses(p, numOutputs);
  let accuracy: number | null = null;
  if (val.labels !== null) {
    let hits = 0;
    for (let i = 0; i < val.count; i++) if (predicted[i] === val.labels[i]) hits++;
    accuracy = hits / val.count;
  }
  let agreement: number | null = null;
  let kl: number | null = null;
  if (teacherProbs) {
    const teacherTop = topOneClasses(teacherProbs, numOutputs);
    let same = 0;
    for (let i = 0; i < val.count; i++) if (teacherTop[i] === predicted[i]) same++;
    agreement = same / val.count;
    kl = meanKlDivergence(teacherProbs, p, numOutputs);
  }
  return { accuracy, agreement, kl };
}

/**
 * Fine-tunes `model` in place on `train`, scoring on `val` after each epoch, and leaves it with the
 * best weights (see the module comment). Frees every tensor it makes, the optimizer's included.
 * Example: `await fineTune(pruned, split.train, split.val, {epochs: 3, teacher: original})`.
 */
export async function fineTune(
  model: tf.LayersModel,
  train: SampleSource,
  val: SampleSource,
  opts: FineTuneOptions,
): Promise<FineTuneResult> {
  const t0 = performance.now();
  const notes: string[] = [];
  const epochs = opts.epochs;
  const batchSize = opts.batchSize ?? 32;
  const optimizerName = opts.optimizer ?? 'adam';
  const learningRate = opts.learningRate ?? (optimizerName === 'adam' ? 1e-3 : 1e-2);
  const temperature = opts.temperature ?? 4;
  const teacher = opts.teacher;
  const labels = train.labels;
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new RangeError(`epochs must be a whole number >= 0, got ${epochs}.`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  if (!(learningRate > 0)) throw new RangeError(`learningRate must be > 0, got ${learningRate}.`);
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}.`);
  if (!teacher && labels === null)
    throw new Error('Fine-tuning needs labelled samples or a teacher model to distil from.');
  let alpha = teacher ? (opts.alpha ?? 0.5) : 0;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`alpha must be in [0, 1], got ${alpha}.`);
  if (teacher && labels === null && alpha !== 1) {
    alpha = 1;
    notes.push('No labels: pure distillation from the teacher (alpha = 1).');
  }
  const k = outputClasses(model);
  if (teacher && outputClasses(teacher) !== k) {
    throw new Error(`The teacher predicts ${outputClasses(teacher)} classes, the model ${k}.`);
  }
  if (labels !== null) {
    for (let i = 0; i < train.count; i++) {
      const l = labels[i]!;
      if (!(Number.isInteger(l) && l >= 0 && l < k))
        throw new RangeError(`Training sample ${i} has label ${l}, outside the model's ${k} outputs.`);
    }
  }
  let batchNorm = opts.batchNorm ?? 'batch-stats';
  if (batchNorm === 'batch-stats' && hasPartialBatchNorm(model)) {
    batchNorm = 'frozen';
    notes.push(
      'A BatchNormalization without gamma or beta: BN is frozen (inference mode) while fine-tuning.',
    );
  }
  const kind = liveOutputKind(model);
  const selectedBy: FineTuneResult['selectedBy'] =
    val.count === 0 ? 'last' : val.labels !== null ? 'val-accuracy' : teacher ? 'val-kl' : 'last';
  const better = (f: ValFigures, best: number): number | null => {
    const s =
      selectedBy === 'val-accuracy' ? f.accuracy : selectedBy === 'val-kl' && f.kl !== null ? -f.kl : null;
    return s !== null && s >= best ? s : null;
  };

  const base = {
    alpha,
    temperature,
    learningRate,
    optimizer: optimizerName,
    batchNorm,
    notes,
  };
  const teacherVal =
    teacher && val.count > 0
      ? (await collectProbabilities([teacher], val, { batchSize: 64 })).probs[0]!
      : null;
  const before = await scoreVal(model, val, teacherVal, batchSize);
  const stoppedEarly = (): FineTuneResult => ({
    ...base,
    history: [],
    before,
    after: before,
    bestEpoch: 0,
    selectedBy,
    stopped: true,
    ms: performance.now() - t0,
  });
  if (opts.signal?.aborted) return stoppedEarly();
  const teacherLogits = teacher ? await collectLogits(teacher, train, 64, opts.signal) : null;
  if (opts.signal?.aborted) return stoppedEarly();

  let bestScore = -Infinity;
  let bestEpoch = 0;
  let best: WeightSnapshot | null = null;
  let bestFigures = before;
  const keepIfBetter = async (epoch: number, figures: ValFigures): Promise<void> => {
    const s = better(figures, bestScore);
    if (s === null) return;
    bestScore = s;
    bestEpoch = epoch;
    bestFigures = figures;
    best = selectedBy === 'last' ? null : await snapshotWeights(model);
  };
  if (selectedBy !== 'last') await keepIfBetter(0, before);

  const optimizer = makeOptimizer(optimizerName, learningRate, opts.momentum ?? 0.9);
  const varList = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const random = seededRandom(opts.seed ?? 0);
  const history: EpochRecord[] = [];
  let stopped = false;
  const training = batchNorm === 'batch-stats';
  const softWeight = teacher ? alpha : 0;
  const hardWeight = labels !== null ? 1 - softWeight : 0;
  try {
    for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
      const e0 = performance.now();
      const order = shuffled(train.count, random);
      const batches = Math.ceil(train.count / batchSize);
      let lossSum = 0;
      let hits = 0;
      let seen = 0;
      let done = 0;
      for (let b = 0; b < batches; b++) {
        if (opts.signal?.aborted) {
          stopped = true;
          break;
        }
        const idx = order.slice(b * batchSize, (b + 1) * batchSize);
        const n = idx.length;
        let correct: tf.Scalar | null = null;
        const x = train.gather(idx);
        const y =
          labels !== null
            ? tf.tensor1d(
                idx.map((i) => labels[i]!),
                'int32',
              )
            : null;
        let soft: tf.Tensor2D | null = null;
        if (teacherLogits) {
          const rows = new Float32Array(n * k);
          idx.forEach((i, r) => rows.set(teacherLogits.subarray(i * k, (i + 1) * k), r * k));
          soft = tf.tidy(() => tf.softmax(tf.div<tf.Tensor2D>(tf.tensor2d(rows, [n, k]), temperature)));
        }
        let loss: tf.Scalar | null = null;
        try {
          loss = optimizer.minimize(
            () => {
              const out = singleOutput(
                training ? (model.apply(x, { training: true }) as tf.Tensor) : forwardFrozen(model, x),
                model,
              );
              let total: tf.Scalar = tf.scalar(0);
              if (y && hardWeight > 0) {
                const logp = toLogProbabilities(out, kind);
                const ce = tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(y, k), logp), 1)));
                total = tf.add<tf.Scalar>(total, tf.mul(ce, hardWeight));
              }
              if (soft && softWeight > 0) {
                const logStudent = temperedLogProbabilities(out, kind, temperature);
                const logTeacher = tf.log(tf.clipByValue(soft, 1e-12, 1));
                const kl = tf.mean(tf.sum(tf.mul(soft, tf.sub(logTeacher, logStudent)), 1));
                total = tf.add<tf.Scalar>(total, tf.mul(kl, softWeight * temperature * temperature));
              }
              for (const penalty of model.calculateLosses()) total = tf.add<tf.Scalar>(total, penalty);
              if (y) {
                const predicted =
                  out.shape[1] === 1 && kind === 'sigmoid'
                    ? tf.cast(tf.greater(tf.reshape(out, [-1]), 0.5), 'int32')
                    : tf.argMax(out, 1);
                correct = tf.keep(tf.sum<tf.Scalar>(tf.cast(tf.equal(predicted, y), 'float32')));
              }
              return total;
            },
            true,
            varList,
          );
          const [lossValue, correctValue] = await Promise.all([
            loss ? loss.data() : Promise.resolve(new Float32Array([NaN])),
            correct ? (correct as tf.Scalar).data() : Promise.resolve(null),
          ]);
          lossSum += lossValue[0]! * n;
          if (correctValue) hits += correctValue[0]!;
        } finally {
          tf.dispose([
            x,
            ...(y ? [y] : []),
            ...(soft ? [soft] : []),
            ...(loss ? [loss] : []),
            ...(correct ? [correct] : []),
          ]);
        }
        seen += n;
        done++;
        opts.onBatch?.({
          epoch,
          batch: done,
          batches,
          loss: lossSum / seen,
          accuracy: labels !== null ? hits / seen : null,
        });
        if (opts.yieldEvery) await opts.yieldEvery();
      }
      if (done === 0) break;
      const figures = await scoreVal(model, val, teacherVal, batchSize);
      const record: EpochRecord = {
        epoch,
        loss: lossSum / seen,
        accuracy: labels !== null ? hits / seen : null,
        valAccuracy: figures.accuracy,
        valAgreement: figures.agreement,
        valKl: figures.kl,
        batches: done,
        partial: done < batches,
        ms: performance.now() - e0,
      };
      history.push(record);
      if (selectedBy === 'last') {
        bestEpoch = epoch;
        bestFigures = figures;
      } else await keepIfBetter(epoch, figures);
      opts.onEpoch?.(record);
      if (opts.signal?.aborted) stopped = true;
    }
  } catch (e) {
    // Leave the model as good as it was: the best weights seen, not a half-made step.
    const kept = best as WeightSnapshot | null;
    if (kept) restoreWeights(model, kept);
    throw e;
  } finally {
    disposeOptimizer(optimizer);
  }
  const kept = best as WeightSnapshot | null;
  if (kept && bestEpoch !== history[history.length - 1]?.epoch) restoreWeights(model, kept);
  return {
    ...base,
    history,
    before,
    after: bestFigures,
    bestEpoch,
    selectedBy,
    stopped,
    ms: performance.now() - t0,
  };
}
