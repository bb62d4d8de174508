/**
 * One interface for every kind of sample set evaluation and fine-tuning read: the bundled `.plss`
 * (bytes / 255), an image folder (bytes mapped through the model's value range), a float set made
 * in code, or a subset of any of them (a train/val split). Each hands out `[n, h, w, c]` float32
 * batches that the caller disposes, so nothing but the current batch lives on the backend.
 *
 * Example: `asSampleSource(parseSampleSet(bytes, 'mnist-heldout.plss')).batch(0, 64)` is the same
 * tensor as `sampleBatch(set, 0, 64)`.
 */
import * as tf from '@tensorflow/tfjs';
import type { SampleSet } from './sample-set';

/** Samples a model can be run on, read in batches. */
export interface SampleSource {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Classes the labels index (usually the model's outputs); 0 when unlabelled and unknown. */
  readonly numClasses: number;
  /** One class index per sample, or null for an unlabelled set. */
  readonly labels: ArrayLike<number> | null;
  /** Samples `[start, end)` as an `[n, h, w, c]` float32 tensor; the caller disposes it. */
  batch(start: number, end: number): tf.Tensor4D;
  /** The samples at `indices`, in that order, as one `[n, h, w, c]` float32 tensor; the caller disposes it. */
  gather(indices: ArrayLike<number>): tf.Tensor4D;
}

/**
 * Per-channel affine map from a stored byte to the model's input value: `byte * scale[c] + offset[c]`.
 * `.plss` sets use `{scale: [1/255], offset: [0]}` (values in [0, 1]).
 */
export interface PixelTransform {
  scale: readonly number[];
  offset: readonly number[];
}

/** Bytes / 255: the [0, 1] range of the `.plss` format, for `channels` channels. */
export function unitTransform(channels: number): PixelTransform {
  return { scale: new Array<number>(channels).fill(1 / 255), offset: new Array<number>(channels).fill(0) };
}

/** True when `x` already is a `SampleSource` (has `batch` and `gather`), not a plain `SampleSet`. */
export function isSampleSource(x: SampleSet | SampleSource): x is SampleSource {
  const s = x as Partial<SampleSource>;
  return typeof s.batch === 'function' && typeof s.gather === 'function';
}

/** Stored bytes of a set of images, NHWC, with their labels (any integer array) and value map. */
export interface ByteSamples {
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  pixels: Uint8Array;
  labels: ArrayLike<number> | null;
}

function checkRange(start: number, end: number, count: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > count) {
    throw new RangeError(`batch: range [${start}, ${end}) is not inside [0, ${count}).`);
  }
}

function checkIndex(i: number, count: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= count)
    throw new RangeError(`gather: index ${i} is not a sample of a set of ${count}.`);
}

/**
 * A source over stored bytes: each value is `byte * scale[c] + offset[c]` (see `PixelTransform`),
 * computed on the fly per batch, so a set of photos costs one byte per value, not four.
 */
export function byteSource(set: ByteSamples, transform?: PixelTransform): SampleSource {
  const { count, height, width, channels } = set;
  const t = transform ?? unitTransform(channels);
  if (t.scale.length !== channels || t.offset.length !== channels) {
    throw new Error(
      `Pixel transform has ${t.scale.length} scales and ${t.offset.length} offsets for ${channels} channels.`,
    );
  }
  const per = height * width * channels;
  if (set.pixels.length !== count * per)
    throw new Error(`Sample set has ${set.pixels.length} bytes, expected ${count * per}.`);
  const scale = Float32Array.from(t.scale);
  const offset = Float32Array.from(t.offset);
  const fill = (values: Float32Array, at: number, sample: number): void => {
    const src = set.pixels.subarray(sample * per, (sample + 1) * per);
    for (let i = 0; i < per; i++) {
      const c = i % channels;
      values[at + i] = src[i]! * scale[c]! + offset[c]!;
    }
  };
  return {
    count,
    height,
    width,
    channels,
    numClasses: set.numClasses,
    labels: set.labels,
    batch(start, end) {
      checkRange(start, end, count);
      const values = new Float32Array((end - start) * per);
      for (let s = start; s < end; s++) fill(values, (s - start) * per, s);
      return tf.tensor4d(values, [end - start, height, width, channels], 'float32');
    },
    gather(indices) {
      const values = new Float32Array(indices.length * per);
      for (let k = 0; k < indices.length; k++) {
        checkIndex(indices[k]!, count);
        fill(values, k * per, indices[k]!);
      }
      return tf.tensor4d(values, [indices.length, height, width, channels], 'float32');
    },
  };
}

/** A set of ready float values (e.g. made in code or by a test), NHWC. */
export interface FloatSampleSet {
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  /** `count * height * width * channels` values, sample-major, each sample `[h, w, c]`. */
  values: Float32Array;
  labels: ArrayLike<number> | null;
}

/** A source over float values, passed to the model as they are. */
export function floatSource(set: FloatSampleSet): SampleSource {
  const { count, height, width, channels } = set;
  const per = height * width * channels;
  if (set.values.length !== count * per)
    throw new Error(`Float sample set has ${set.values.length} values, expected ${count * per}.`);
  if (set.labels !== null && set.labels.length !== count)
    throw new Error(`Float sample set has ${set.labels.length} labels for ${count} samples.`);
  return {
    count,
    height,
    width,
    channels,
    numClasses: set.numClasses,
    labels: set.labels,
    batch(start, end) {
      checkRange(start, end, count);
      return tf.tensor4d(set.values.slice(start * per, end * per), [end - start, height, width, channels]);
    },
    gather(indices) {
      const values = new Float32Array(indices.length * per);
      for (let k = 0; k < indices.length; k++) {
        checkIndex(indices[k]!, count);
        values.set(set.values.subarray(indices[k]! * per, (indices[k]! + 1) * per), k * per);
      }
      return tf.tensor4d(values, [indices.length, height, width, channels]);
    },
  };
}

/**
 * Any set as a source: a `SampleSource` as it is, a `.plss` `SampleSet` through `transform`
 * (default bytes / 255, the format's own meaning).
 */
export function asSampleSource(set: SampleSet | SampleSource, transform?: PixelTransform): SampleSource {
  return isSampleSource(set) ? set : byteSource(set, transform);
}

/**
 * The samples of `source` at `indices` (in that order) as a source of their own; reads go to the
 * parent through `gather`, nothing is copied but the labels. Example: `subsetSource(s, [4, 0])`
 * has two samples, the first being `s`'s sample 4.
 */
export function subsetSource(source: SampleSource, indices: ArrayLike<number>): SampleSource {
  const map = Int32Array.from(indices);
  for (const i of map) checkIndex(i, source.count);
  const parentLabels = source.labels;
  const labels = parentLabels === null ? null : Int32Array.from(map, (i) => parentLabels[i]!);
  return {
    count: map.length,
    height: source.height,
    width: source.width,
    channels: source.channels,
    numClasses: source.numClasses,
    labels,
    batch(start, end) {
      checkRange(start, end, map.length);
      return source.gather(map.subarray(start, end));
    },
    gather(idx) {
      const parent = new Int32Array(idx.length);
      for (let k = 0; k < idx.length; k++) {
        checkIndex(idx[k]!, map.length);
        parent[k] = map[idx[k]!]!;
      }
      return source.gather(parent);
    },
  };
}

/** The same samples with no labels (e.g. to distil without them, or to ignore wrong ones). */
export function withoutLabels(source: SampleSource): SampleSource {
  return {
    count: source.count,
    height: source.height,
    width: source.width,
    channels: source.channels,
    numClasses: source.numClasses,
    labels: null,
    batch: (start, end) => source.batch(start, end),
    gather: (indices) => source.gather(indices),
  };
}

/** A seeded 32-bit generator (mulberry32) in [0, 1): the same seed gives the same splits and shuffles. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of `0..n-1` (or of `items`) with a seeded generator; returns a new array. */
export function shuffled(n: number, random: () => number, items?: readonly number[]): number[] {
  const out = items ? [...items] : Array.from({ length: n }, (_, i) => i);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A deterministic train/validation split. */
export interface SourceSplit {
  train: SampleSource;
  val: SampleSource;
  /** Indices into the original source, ascending. */
  trainIndices: Int32Array;
  valIndices: Int32Array;
}

/**
 * Splits a source into train and validation parts, deterministically for a seed. A labelled set is
 * split per class (stratified: each class gives `valFraction` of its samples to val, rounded so
 * that val holds exactly `round(valFraction * count)`: every class in proportion); an unlabelled set as a whole. Both parts keep ascending
 * order. Example: 2,000 digits with `valFraction` 0.25 give 1,500 train and 500 val samples.
 */
export function splitSource(source: SampleSource, valFraction: number, seed = 0): SourceSplit {
  if (!(valFraction >= 0 && valFraction <= 1))
    throw new RangeError(`valFraction must be in [0, 1], got ${valFraction}.`);
  const random = seededRandom(seed);
  const val: number[] = [];
  const labels = source.labels;
  if (labels === null) {
    const order = shuffled(source.count, random);
    val.push(...order.slice(0, Math.round(valFraction * source.count)));
  } else {
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < source.count; i++) {
      const l = labels[i]!;
      const list = byClass.get(l);
      if (list) list.push(i);
      else byClass.set(l, [i]);
    }
    // Largest remainders: each class gets floor(share), the rest go to the largest fractions, so
    // val holds exactly round(valFraction * count) samples.
    const classes = [...byClass.keys()].sort((a, b) => a - b);
    const shares = classes.map((c) => valFraction * byClass.get(c)!.length);
    const take = shares.map(Math.floor);
    let left = Math.round(valFraction * source.count) - take.reduce((a, b) => a + b, 0);
    const byRemainder = classes
      .map((_, i) => i)
      .sort((a, b) => shares[b]! - take[b]! - (shares[a]! - take[a]!) || a - b);
    for (const i of byRemainder) {
      if (left <= 0) break;
      take[i]!++;
      left--;
    }
    classes.forEach((cls, i) => {
      const members = byClass.get(cls)!;
      const order = shuffled(members.length, random, members);
      val.push(...order.slice(0, take[i]));
    });
  }
  const inVal = new Uint8Array(source.count);
  for (const i of val) inVal[i] = 1;
  const valIndices = Int32Array.from(val).sort();
  const trainIndices = new Int32Array(source.count - valIndices.length);
  let k = 0;
  for (let i = 0; i < source.count; i++) if (!inVal[i]) trainIndices[k++] = i;
  return {
    train: subsetSource(source, trainIndices),
    val: subsetSource(source, valIndices),
    trainIndices,
    valIndices,
  };
}
