/**
 * BatchNorm re-estimation ("recalibration", AdaBN; PyTorch's `torch.optim.swa_utils.update_bn`):
 * after pruning, each BatchNormalization's moving mean and variance describe inputs that no longer
 * exist, and accuracy suffers for that alone. This recomputes them on the sample set, with no
 * training (no weight but the moving statistics changes).
 *
 * **What is measured.** One pass over the set with every BN normalising by its *batch* statistics,
 * as in training (so a BN's input is what it sees during training, and a single pass suffices for
 * all of them, where an exact inference-mode chain would need one pass per BN). For each BN the
 * per-channel mean and variance of its input are merged over all batches (Chan et al.'s parallel
 * update, float64), giving the mean and the *population* variance (divided by N, as `tf.moments`
 * and tfjs' own training update use) over every sample and position. Those replace the moving
 * statistics outright (no momentum). Dropout and the like stay off (inference mode).
 *
 * **How.** The model runs layer by layer (scoring/observe.ts `runLayers`). While it runs, each BN
 * holds identity parameters (gamma 1, beta 0, mean 0, variance 1 - epsilon), so the output it
 * reports to the hook is its input (to a relative 1e-7); the hook measures it and returns the
 * batch-normalised value with the BN's real gamma and beta. The real parameters are written back at
 * the end, or restored untouched on an error or a cancel.
 *
 * Example: `Conv -> BN -> ReLU -> ... -> Dense` pruned to half its channels: `await
 * reestimateBatchNorm(model, asSampleSource(set))` sets BN's moving stats to the pruned conv's output
 * statistics on the set.
 */
import * as tf from '@tensorflow/tfjs';
import { runLayers } from '../scoring/observe';
import { abortError } from '../evaluate/evaluate';
import type { SampleSource } from '../evaluate/sample-source';

export interface ReestimateOptions {
  /** Samples per batch (default 64). Larger batches normalise upstream BNs more like inference does. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Awaited between batches. */
  yieldEvery?: () => Promise<void>;
}

/** New statistics of one BatchNormalization layer. */
export interface BatchNormEstimate {
  /** Scoped name (`base/bn1` inside nested model `base`). */
  layer: string;
  mean: Float32Array;
  variance: Float32Array;
  /** The moving statistics before. */
  previousMean: Float32Array;
  previousVariance: Float32Array;
}

export interface ReestimateResult {
  samples: number;
  layers: BatchNormEstimate[];
  /** BNs left as they were, and why (e.g. normalising an axis that is not the last). */
  skipped: { layer: string; reason: string }[];
}

/** A BatchNormalization layer with its variables by role. */
interface BnLayer {
  name: string;
  layer: tf.layers.Layer;
  epsilon: number;
  gamma?: tf.LayerVariable;
  beta?: tf.LayerVariable;
  mean: tf.LayerVariable;
  variance: tf.LayerVariable;
}

function role(v: tf.LayerVariable): string {
  const parts = v.originalName.split('/');
  return parts[parts.length - 1]!.replace(/_\d+$/, '');
}

/** Every BN of the model and nested models, with the scoped names `runLayers` reports. */
function findBatchNorms(
  model: tf.LayersModel,
  prefix: string,
  out: BnLayer[],
  skipped: ReestimateResult['skipped'],
): void {
  for (const layer of model.layers) {
    const name = `${prefix}${layer.name}`;
    if (layer instanceof tf.LayersModel) {
      findBatchNorms(layer, `${name}/`, out, skipped);
      continue;
    }
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const config = layer.getConfig();
    const axis = config['axis'];
    const byRole = new Map(layer.weights.map((w) => [role(w), w]));
    const mean = byRole.get('moving_mean');
    const variance = byRole.get('moving_variance');
    const rank = layer.inboundNodes[0]?.inputTensors[0]?.shape.length;
    if (!mean || !variance) {
      skipped.push({ layer: name, reason: 'it has no moving mean/variance weights' });
    } else if (!(axis === -1 || (typeof rank === 'number' && axis === rank - 1))) {
      skipped.push({
        layer: name,
        reason: `it normalises axis ${JSON.stringify(axis)}, not the channel (last) axis`,
      });
    } else if (layer.inboundNodes.length > 1) {
      skipped.push({ layer: name, reason: 'it is applied more than once (shared layer)' });
    } else {
      out.push({
        name,
        layer,
        epsilon: typeof config['epsilon'] === 'number' ? config['epsilon'] : 1e-3,
        gamma: byRole.get('gamma'),
        beta: byRole.get('beta'),
        mean,
        variance,
      });
    }
  }
}

/** Running per-channel count, mean and sum of squared deviations (float64). */
interface Moments {
  n: number;
  mean: Float64Array;
  m2: Float64Array;
}

/** Chan et al.'s merge of a batch's mean and population variance over `nb` values into `acc`. */
function merge(acc: Moments, nb: number, mean: Float32Array, variance: Float32Array): void {
  const n = acc.n + nb;
  for (let c = 0; c < mean.length; c++) {
    const delta = mean[c]! - acc.mean[c]!;
    acc.mean[c]! += (delta * nb) / n;
    acc.m2[c]! += variance[c]! * nb + (delta * delta * acc.n * nb) / n;
  }
  acc.n = n;
}

/**
 * Recomputes every BatchNormalization's moving mean and variance of `model` on `source` (see the
 * module comment for exactly what), in place, and returns the old and new figures. Frees every
 * tensor it makes; a cancel (`signal`) or an error leaves the model as it was.
 */
export async function reestimateBatchNorm(
  model: tf.LayersModel,
  source: SampleSource,
  opts: ReestimateOptions = {},
): Promise<ReestimateResult> {
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  const bns: BnLayer[] = [];
  const skipped: ReestimateResult['skipped'] = [];
  findBatchNorms(model, '', bns, skipped);
  if (bns.length === 0 || source.count === 0) return { samples: 0, layers: [], skipped };

  // Originals, to put back (gamma, beta) or to restore on failure (all four).
  const saved = bns.map((b) => ({
    gamma: b.gamma?.read().clone(),
    beta: b.beta?.read().clone(),
    mean: b.mean.read().clone(),
    variance: b.variance.read().clone(),
  }));
  const previous = await Promise.all(
    saved.map(async (s) => ({
      mean: Float32Array.from(await s.mean.data()),
      variance: Float32Array.from(await s.variance.data()),
    })),
  );
  // runLayers reports scoped names, except where tfjs flattened a nested Sequential into its parent
  // (a Sequential as the first layer of a Sequential): accept a BN's bare name too when unique.
  const byName = new Map(bns.map((b, i) => [b.name, i]));
  const bare = new Map<string, number>();
  bns.forEach((b, i) => bare.set(b.layer.name, bare.has(b.layer.name) ? -1 : i));
  for (const [name, i] of bare) if (i >= 0 && !byName.has(name)) byName.set(name, i);
  const acc: Moments[] = bns.map((b) => {
    const c = b.mean.shape[0] ?? 0;
    return { n: 0, mean: new Float64Array(c), m2: new Float64Array(c) };
  });
  const write = (v: tf.LayerVariable | undefined, t: tf.Tensor | undefined): void => {
    if (v && t) v.write(t);
  };
  try {
    tf.tidy(() => {
      bns.forEach((b) => {
        const shape = b.mean.shape as number[];
        write(b.gamma, tf.ones(shape));
        write(b.beta, tf.zeros(shape));
        b.mean.write(tf.zeros(shape));
        b.variance.write(tf.fill(shape, 1 - b.epsilon));
      });
    });
    for (let start = 0; start < source.count; start += batchSize) {
      if (opts.signal?.aborted) throw abortError('BatchNorm re-estimation was cancelled.');
      const end = Math.min(source.count, start + batchSize);
      const measured: { bn: number; n: number; mean: tf.Tensor; variance: tf.Tensor }[] = [];
      try {
        const x = source.batch(start, end);
        try {
          tf.tidy(() => {
            runLayers(model, x, (name, input) => {
              const i = byName.get(name);
              if (i === undefined) return input;
              const axes = Array.from({ length: input.rank - 1 }, (_, a) => a);
              const { mean, variance } = tf.moments(input, axes);
              const channels = input.shape[input.rank - 1]!;
              measured.push({
                bn: i,
                n: input.size / channels,
                mean: tf.keep(mean),
                variance: tf.keep(variance),
              });
              const s = saved[i]!;
              return tf.batchNorm(input, mean, variance, s.beta, s.gamma, bns[i]!.epsilon);
            });
          });
        } finally {
          x.dispose();
        }
        const values = await Promise.all(
          measured.map(async (m) => [await m.mean.data(), await m.variance.data()] as const),
        );
        values.forEach(([mean, variance], k) => {
          merge(acc[measured[k]!.bn]!, measured[k]!.n, mean as Float32Array, variance as Float32Array);
        });
        if (start === 0) {
          const missed = bns.filter((_, i) => !measured.some((m) => m.bn === i)).map((b) => b.name);
          if (missed.length > 0) {
            throw new Error(
              `BatchNorm re-estimation could not observe ${missed.join(', ')} while running the model.`,
            );
          }
        }
      } finally {
        for (const m of measured) tf.dispose([m.mean, m.variance]);
      }
      opts.onProgress?.(end, source.count);
      if (end < source.count && opts.yieldEvery) await opts.yieldEvery();
    }
  } catch (e) {
    bns.forEach((b, i) => {
      const s = saved[i]!;
      write(b.gamma, s.gamma);
      write(b.beta, s.beta);
      b.mean.write(s.mean);
      b.variance.write(s.variance);
    });
    for (const s of saved) tf.dispose([s.gamma, s.beta, s.mean, s.variance].filter((t) => t !== undefined));
    throw e;
  }
  const layers: BatchNormEstimate[] = bns.map((b, i) => {
    const a = acc[i]!;
    const s = saved[i]!;
    const mean = Float32Array.from(a.mean);
    const variance = Float32Array.from(a.m2, (m2) => (a.n > 0 ? m2 / a.n : 0));
    write(b.gamma, s.gamma);
    write(b.beta, s.beta);
    tf.tidy(() => {
      b.mean.write(tf.tensor(mean, b.mean.shape as number[]));
      b.variance.write(tf.tensor(variance, b.variance.shape as number[]));
    });
    return {
      layer: b.name,
      mean,
      variance,
      previousMean: previous[i]!.mean,
      previousVariance: previous[i]!.variance,
    };
  });
  for (const s of saved) tf.dispose([s.gamma, s.beta, s.mean, s.variance].filter((t) => t !== undefined));
  return { samples: source.count, layers, skipped };
}
