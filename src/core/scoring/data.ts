/**
 * Data-based scoring: runs the model on the sample set in batches and scores each group's channels
 * from what they do (APoZ, mean activation) or how much the loss depends on them (Taylor), observed
 * where observe.ts says. Long work: it reports progress, yields between batches, and can be
 * cancelled; every tensor it makes is freed, on success, error and abort alike.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelArtifactsData } from '../ir/artifacts';
import type { ModelIR } from '../ir/model-ir';
import type { ChannelGraph } from '../graph/types';
import { abortError, ModelLoadError } from '../errors';
import { groupBnScales } from './bn-scale';
import { observationPoints, runLayers, type ObservationPoint } from './observe';
import { outputKind, taylorBatch } from './taylor';
import { reduceTerms } from './reduce';
import { scorerOf } from './scorers';
import type { Criterion, DataScoreOptions, ScoringSamples } from './types';
import { scoreGroups } from './weights';
import { describeNonFinite, nonFiniteWeights } from '../io/weight-health';

/**
 * Samples `[start, end)` as an `[n, h, w, c]` float32 tensor: the source's own batches, or a plain
 * `.plss` set's bytes / 255 (its documented value map). The caller disposes it.
 */
function batchOf(set: ScoringSamples, start: number, end: number): tf.Tensor4D {
  if ('batch' in set) return set.batch(start, end);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > set.count) {
    throw new RangeError(`batch: range [${start}, ${end}) is not inside [0, ${set.count}).`);
  }
  const per = set.height * set.width * set.channels;
  const bytes = set.pixels.subarray(start * per, end * per);
  const values = Float32Array.from(bytes, (b) => b / 255);
  return tf.tensor4d(values, [end - start, set.height, set.width, set.channels], 'float32');
}

/** Checks that the set fits the model's single input (`[h, w, c]`) and, for Taylor, its classes. */
function assertFits(model: tf.LayersModel, set: ScoringSamples, criterion: Criterion): void {
  if (model.inputs.length !== 1) {
    throw new Error(
      `Model '${model.name}' has ${model.inputs.length} inputs; data-based scores need one image input.`,
    );
  }
  const want = model.inputs[0]!.shape.slice(1);
  const have = [set.height, set.width, set.channels];
  if (want.length !== 3 || want.some((d, i) => d !== null && d !== have[i])) {
    throw new Error(
      `The sample set holds ${have.join('x')} images, but the model's input is [${want.map((d) => d ?? '?').join(', ')}].`,
    );
  }
  if (criterion === 'taylor' && set.labels !== null) {
    const classes = model.outputs[0]?.shape[model.outputs[0].shape.length - 1];
    let max = 0;
    for (let i = 0; i < set.labels.length; i++) max = Math.max(max, set.labels[i]!);
    if (typeof classes === 'number' && classes > 1 && max >= classes) {
      throw new Error(`The sample set has label ${max}, but the model outputs ${classes} classes.`);
    }
  }
}

/** Per observation point: channel sums of one statistic, and how many values each channel saw. */
interface Accumulator {
  sums: Float64Array[];
  counts: Float64Array;
}

/** One batch of APoZ zero counts or `|a|` sums at every point, concatenated; also the values per channel seen. */
function activationBatch(
  model: tf.LayersModel,
  x: tf.Tensor,
  points: readonly ObservationPoint[],
  stat: (activation: tf.Tensor) => tf.Tensor1D,
): { stats: tf.Tensor1D; perChannel: Float64Array } {
  const perChannel = new Float64Array(points.length);
  const stats = tf.tidy(() => {
    const index = new Map(points.map((p, i) => [p.layer, i]));
    const parts: (tf.Tensor1D | undefined)[] = points.map(() => undefined);
    runLayers(model, x, (name, a) => {
      const i = index.get(name);
      if (i === undefined) return a;
      const c = a.shape[a.rank - 1];
      if (c !== points[i]!.channels) {
        throw new Error(`'${name}' has ${c} channels where ${points[i]!.channels} were expected.`);
      }
      const s = stat(a);
      // A layer called twice (shared) adds up both calls.
      parts[i] = parts[i] ? tf.add<tf.Tensor1D>(parts[i], s) : s;
      perChannel[i]! += a.size / c;
      return a;
    });
    const filled = parts.map((p, i) => p ?? tf.fill([points[i]!.channels], Number.NaN));
    return (filled.length === 0 ? tf.zeros([0]) : tf.concat(filled)) as tf.Tensor1D;
  });
  return { stats, perChannel };
}

/**
 * Scores every group's channels with any criterion (higher = more important), keyed by
 * `group.producer` like `scoreGroups`; weight-based criteria are passed to it. Data-based ones run
 * `model` (the live model the artifacts describe) on the first `maxSamples` samples of `set`:
 * - `apoz`: `1 - share of values <= 0` at each producer's observation point (observe.ts);
 * - `mean-activation`: mean of `|a|` there;
 * - `taylor`: `|sum of a * dL/da| / samples`, L the cross-entropy on the labels (or on the model's
 *   own top-1 classes when the set has none).
 * A coupled group reduces its producers' scores as `options.reduction` says. A point the output
 * does not depend on scores NaN (APoZ, mean) or 0 (Taylor). Example: for `c1 -> bn -> relu -> ...`,
 * APoZ of c1's channel j is one minus the share of zeros in `relu[..., j]` over every sample and pixel.
 */
export async function scoreGroupsWithData(
  model: tf.LayersModel,
  ir: ModelIR,
  artifacts: ModelArtifactsData,
  graph: ChannelGraph,
  criterion: Criterion,
  set: ScoringSamples,
  options: DataScoreOptions = {},
): Promise<Record<string, Float32Array>> {
  const scorer = scorerOf(criterion);
  if (scorer.kind !== 'data') return scoreGroups(ir, artifacts, graph, criterion, options);
  const broken = nonFiniteWeights(artifacts);
  if (broken.length > 0) {
    // Every activation downstream of a NaN/Inf weight is NaN/Inf too: the scores would mean nothing.
    throw new ModelLoadError(
      'BAD_WEIGHTS',
      `The '${criterion}' criterion runs the model on data, but its weights hold NaN or Inf values: ${describeNonFinite(broken)}. Use a weight-based criterion (l1, l2, fpgm) or fix the model.`,
      { layer: broken[0]!.layer },
    );
  }
  const { signal, onProgress, yieldEvery } = options;
  const batchSize = options.batchSize ?? scorer.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  }
  const total = Math.min(set.count, options.maxSamples ?? set.count);
  if (!(total >= 1))
    throw new Error(`The '${criterion}' criterion needs at least one sample; the set has ${set.count}.`);
  assertFits(model, set, criterion);
  const points = observationPoints(ir, graph);
  const acc: Accumulator = {
    sums: points.map((p) => new Float64Array(p.channels)),
    counts: new Float64Array(points.length),
  };
  const kind = outputKind(ir);
  for (let start = 0; start < total; start += batchSize) {
    if (signal?.aborted) throw abortError('Scoring was cancelled.');
    const end = Math.min(total, start + batchSize);
    let stats: tf.Tensor1D | undefined;
    let perChannel: Float64Array;
    let taylorSplit = false;
    const x = batchOf(set, start, end);
    try {
      if (scorer.run === 'taylor') {
        const labels = set.labels
          ? tf.tensor1d(
              Int32Array.from({ length: end - start }, (_, i) => set.labels![start + i]!),
              'int32',
            )
          : null;
        try {
          stats = taylorBatch(model, x, labels, points, kind);
        } finally {
          labels?.dispose();
        }
        perChannel = new Float64Array(points.length).fill(end - start);
        taylorSplit = true;
      } else {
        ({ stats, perChannel } = activationBatch(model, x, points, (a) => scorer.stat(a)));
      }
    } finally {
      x.dispose();
    }
    let values: Float32Array;
    try {
      values = (await stats.data()) as Float32Array;
    } finally {
      stats.dispose();
    }
    // Taylor batches hold the signed sums, then the absolute ones: read the half the option asks for.
    let o = taylorSplit && options.taylor === 'sum-of-abs' ? values.length / 2 : 0;
    points.forEach((p, i) => {
      const s = acc.sums[i]!;
      for (let c = 0; c < p.channels; c++) s[c]! += values[o++]!;
      acc.counts[i]! += perChannel[i]!;
    });
    onProgress?.(end, total);
    if (end < total && yieldEvery) await yieldEvery();
  }

  const perPoint = points.map((_, i) => scorer.importance(acc.sums[i]!, acc.counts[i]!));
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  const reduction = options.reduction ?? 'sum';
  const out: Record<string, Float32Array> = {};
  for (const g of graph.groups) {
    const terms = perPoint.filter((_, i) => points[i]!.group === g.id);
    if (options.bnScale) terms.push(...groupBnScales(g, byName, artifacts));
    out[g.producer] = reduceTerms(terms, reduction, g.size);
  }
  return out;
}
