import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import type { InputFile, ModelArtifactsData, OutputFile, WeightTensor } from '../ir/artifacts';
import type { ManifestWeightEntry, TfjsModelJSON } from '../ir/keras-json';
import { halfToFloat } from './dequantize';
import {
  affineParams,
  DEFAULT_SHARD_BYTES,
  floatToHalf,
  quantizedArtifacts,
  tfjsModelSize,
  writeTfjsModel,
  type TfjsQuantization,
} from './export-tfjs';
import { openModelFiles } from './open-model';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from './tf-artifacts';
import { zipFiles } from './zip';

const dec = new TextDecoder();

/** Conv2D -> BN -> ReLU -> MaxPool -> Conv2D -> Flatten -> Dense, with non-trivial BN statistics. */
function buildCnn(): tf.Sequential {
  const m = tf.sequential({ name: 'tiny_cnn' });
  m.add(
    tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', name: 'conv1' }),
  );
  m.add(tf.layers.batchNormalization({ name: 'bn1' }));
  m.add(tf.layers.reLU({ name: 'relu1' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }));
  m.add(tf.layers.conv2d({ filters: 3, kernelSize: 3, name: 'conv2', biasInitializer: 'randomNormal' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ units: 5, name: 'dense', biasInitializer: 'randomNormal' }));
  const bn = tf.tidy(() => [
    tf.tensor1d([1.5, 0.5, -1, 2]), // gamma
    tf.tensor1d([0.1, -0.2, 0.3, 0]), // beta
    tf.tensor1d([0.2, -0.1, 0.05, 0.3]), // moving mean
    tf.tensor1d([0.5, 2, 1.5, 0.25]), // moving variance
  ]);
  m.getLayer('bn1').setWeights(bn);
  tf.dispose(bn);
  return m;
}

function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

function parseModelJson(files: OutputFile[], name = 'model.json'): TfjsModelJSON {
  const f = files.find((x) => x.path === name);
  if (!f) throw new Error(`no ${name}`);
  return JSON.parse(dec.decode(f.bytes)) as TfjsModelJSON;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Loads written files the way a web page does: tf.io.http, its own shard fetching and dequantization. */
function loadViaHttp(files: OutputFile[]): Promise<tf.LayersModel> {
  const base = 'http://models.test/m/';
  const byUrl = new Map(files.map((f) => [base + f.path, f.bytes]));
  const fetchFunc = (input: RequestInfo | URL) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const bytes = byUrl.get(url);
    return Promise.resolve(bytes ? new Response(bytes.slice()) : new Response('not found', { status: 404 }));
  };
  return tf.loadLayersModel(tf.io.http(`${base}model.json`, { fetchFunc }));
}

function expectSameWeights(got: WeightTensor[], want: WeightTensor[]): void {
  expect(got.map((w) => [w.name, w.shape, w.dtype])).toEqual(want.map((w) => [w.name, w.shape, w.dtype]));
  got.forEach((w, i) => {
    const v = want[i]!.values;
    // Bit-exact, NaN payloads and -0 included.
    expect(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength)).toEqual(
      new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
    );
  });
}

function shuffle<T>(items: readonly T[], keys: readonly number[]): T[] {
  return items
    .map((item, i) => ({ item, key: keys[i % Math.max(1, keys.length)] ?? 0, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.item);
}

describe('writeTfjsModel with a real CNN', () => {
  let model: tf.Sequential;
  let artifacts: ModelArtifactsData;
  let x: tf.Tensor;
  let expected: Float32Array;
  let tensorsBefore: number;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    tensorsBefore = tf.memory().numTensors;
    model = buildCnn();
    artifacts = await artifactsFromLayersModel(model);
    x = tf.randomNormal([3, 8, 8, 1], 0, 1, 'float32', 42);
    expected = predict(model, x);
  });

  afterAll(() => {
    model.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('writes the standard TF.js layout, compact', () => {
    const files = writeTfjsModel(artifacts);
    expect(files.map((f) => f.path)).toEqual(['model.json', 'group1-shard1of1.bin']);
    const text = dec.decode(files[0]!.bytes);
    expect(text).not.toContain('\n');
    const json = JSON.parse(text) as TfjsModelJSON;
    expect(Object.keys(json)).toEqual([
      'modelTopology',
      'weightsManifest',
      'format',
      'generatedBy',
      'convertedBy',
    ]);
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest).toEqual([
      {
        paths: ['group1-shard1of1.bin'],
        weights: artifacts.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })),
      },
    ]);
    // tfjs saves trainable weights first, then non-trainable ones: BN's moving statistics come last,
    // so a layer's weights are not necessarily contiguous in the manifest.
    expect(json.weightsManifest[0]!.weights.map((w) => w.name)).toEqual([
      'conv1/kernel',
      'conv1/bias',
      'bn1/gamma',
      'bn1/beta',
      'conv2/kernel',
      'conv2/bias',
      'dense/kernel',
      'dense/bias',
      'bn1/moving_mean',
      'bn1/moving_variance',
    ]);
    const weightBytes = artifacts.weights.reduce((n, w) => n + w.values.byteLength, 0);
    expect(files[1]!.bytes.byteLength).toBe(weightBytes);
  });

  it('loads with tf.loadLayersModel (fromMemory and http) and predicts identically', async () => {
    const files = writeTfjsModel(artifacts, { shardBytes: 256 });
    const json = parseModelJson(files);
    const shards = json.weightsManifest[0]!.paths.map((p) => files.find((f) => f.path === p)!.bytes);
    const fromMemory = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology as unknown as object,
        weightSpecs: json.weightsManifest[0]!.weights as tf.io.WeightsManifestEntry[],
        weightData: concatBytes(shards).buffer,
      }),
    );
    const viaHttp = await loadViaHttp(files);
    expect(predict(fromMemory, x)).toEqual(expected);
    expect(predict(viaHttp, x)).toEqual(expected);
    fromMemory.dispose();
    viaHttp.dispose();
  });

  it('round-trips through openModelFiles exactly, files in any order inside a folder', async () => {
    const files = writeTfjsModel(artifacts);
    const dropped: InputFile[] = files.map((f) => ({ path: `mymodel/${f.path}`, bytes: f.bytes })).reverse();
    const opened = await openModelFiles(dropped);
    expect(opened.modelTopology).toEqual(artifacts.modelTopology);
    expect(opened.format).toBe(artifacts.format);
    expect(opened.generatedBy).toBe(artifacts.generatedBy);
    expect(opened.convertedBy).toBe(artifacts.convertedBy);
    expectSameWeights(opened.weights, artifacts.weights);
    const reloaded = await loadLayersModelFromArtifacts(opened);
    expect(predict(reloaded, x)).toEqual(expected);
    reloaded.dispose();
  });

  it('splits into small shards that reassemble, in any order', async () => {
    const files = writeTfjsModel(artifacts, { shardBytes: 100 });
    const total = artifacts.weights.reduce((n, w) => n + w.values.byteLength, 0);
    const n = Math.ceil(total / 100);
    expect(files).toHaveLength(n + 1);
    expect(files[1]!.path).toBe(`group1-shard1of${n}.bin`);
    expect(files[n]!.path).toBe(`group1-shard${n}of${n}.bin`);
    expect(files.slice(1, -1).every((f) => f.bytes.byteLength === 100)).toBe(true);
    expect(files[n]!.bytes.byteLength).toBe(total - 100 * (n - 1));
    const opened = await openModelFiles(shuffle(files, [5, 3, 9, 1, 7, 2, 8]));
    expectSameWeights(opened.weights, artifacts.weights);
  });

  it('opens a zip of the exported folder', async () => {
    const files = writeTfjsModel(artifacts, { shardBytes: 1000, baseName: 'tiny_cnn' });
    expect(files[0]!.path).toBe('tiny_cnn.json');
    const zip = zipFiles(files.map((f) => ({ path: `tiny_cnn/${f.path}`, bytes: f.bytes })));
    const opened = await openModelFiles([{ path: 'tiny_cnn.zip', bytes: zip }]);
    expectSameWeights(opened.weights, artifacts.weights);
  });

  it('tfjsModelSize is the bytes written', () => {
    for (const opts of [{}, { shardBytes: 64 }, { shardBytes: 1 }]) {
      const files = writeTfjsModel(artifacts, opts);
      expect(tfjsModelSize(artifacts, opts)).toBe(files.reduce((n, f) => n + f.bytes.byteLength, 0));
    }
    expect(DEFAULT_SHARD_BYTES).toBe(4194304);
  });

  it('opens a uint8/uint16-quantized export exactly as tfjs does, close to the original', async () => {
    // Quantize every weight by hand, as tensorflowjs_converter --quantize_uint8/uint16 would.
    for (const [dtype, levels] of [
      ['uint8', 255],
      ['uint16', 65535],
    ] as const) {
      const entries: ManifestWeightEntry[] = [];
      const parts: Uint8Array[] = [];
      for (const w of artifacts.weights) {
        const values = Array.from(w.values);
        const min = Math.min(...values);
        const scale = (Math.max(...values) - min) / levels || 1;
        const q = values.map((v) => Math.min(levels, Math.max(0, Math.round((v - min) / scale))));
        entries.push({ name: w.name, shape: w.shape, dtype: 'float32', quantization: { dtype, scale, min } });
        parts.push(dtype === 'uint8' ? Uint8Array.from(q) : new Uint8Array(Uint16Array.from(q).buffer));
      }
      const json: TfjsModelJSON = {
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: entries }],
        format: 'layers-model',
      };
      const files = [
        { path: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(json)) },
        { path: 'group1-shard1of1.bin', bytes: concatBytes(parts) },
      ];
      const opened = await openModelFiles(files);
      opened.weights.forEach((w, i) => {
        const step = entries[i]!.quantization!.scale!;
        w.values.forEach((v, j) =>
          expect(Math.abs(v - artifacts.weights[i]!.values[j]!)).toBeLessThanOrEqual(step / 2 + 1e-6),
        );
      });
      const ours = await loadLayersModelFromArtifacts(opened);
      const theirs = await loadViaHttp(files);
      const got = predict(ours, x);
      expect(got).toEqual(predict(theirs, x));
      const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
      expect(worst).toBeLessThan(dtype === 'uint8' ? 0.2 : 1e-3);
      ours.dispose();
      theirs.dispose();
    }
  });
});

describe('writeTfjsModel quantize', () => {
  let model: tf.Sequential;
  let artifacts: ModelArtifactsData;
  let x: tf.Tensor;
  let expected: Float32Array;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = buildCnn();
    artifacts = await artifactsFromLayersModel(model);
    x = tf.randomNormal([3, 8, 8, 1], 0, 1, 'float32', 42);
    expected = predict(model, x);
  });

  afterAll(() => {
    model.dispose();
    x.dispose();
  });

  it.each(['float16', 'uint8', 'uint16'] as const)(
    '%s: manifest entries as tfjs writes them, values within half a step, tfjs loads it, size as written',
    async (quantize) => {
      const files = writeTfjsModel(artifacts, { quantize });
      expect(tfjsModelSize(artifacts, { quantize })).toBe(files.reduce((n, f) => n + f.bytes.byteLength, 0));
      const bytesPer = quantize === 'uint8' ? 1 : 2;
      const count = artifacts.weights.reduce((n, w) => n + w.values.length, 0);
      expect(files.slice(1).reduce((n, f) => n + f.bytes.byteLength, 0)).toBe(bytesPer * count);
      const entries = parseModelJson(files).weightsManifest[0]!.weights;
      for (const e of entries) {
        expect(e.dtype).toBe('float32');
        expect(e.quantization?.dtype).toBe(quantize);
        if (quantize !== 'float16')
          expect(Object.keys(e.quantization!).sort()).toEqual(['dtype', 'min', 'scale']);
      }
      const opened = await openModelFiles(files);
      expect(quantizedArtifacts(artifacts, quantize).weights).toEqual(opened.weights);
      opened.weights.forEach((w, i) => {
        const original = artifacts.weights[i]!.values;
        const q = entries[i]!.quantization!;
        w.values.forEach((v, j) => {
          const o = original[j]!;
          const bound =
            quantize === 'float16' ? Math.abs(o) * 2 ** -11 + 2 ** -25 : q.scale! / 2 + 1e-6 * Math.abs(o);
          expect(Math.abs(v - o)).toBeLessThanOrEqual(bound);
        });
      });
      const ours = await loadLayersModelFromArtifacts(opened);
      const theirs = await loadViaHttp(files);
      const got = predict(ours, x);
      expect(got).toEqual(predict(theirs, x));
      const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
      expect(worst).toBeLessThan(quantize === 'uint8' ? 0.2 : 1e-2);
      ours.dispose();
      theirs.dispose();
    },
  );

  it('none (and no option) writes float32; int32 and non-finite weights are never quantized', () => {
    const plain = writeTfjsModel(artifacts);
    expect(writeTfjsModel(artifacts, { quantize: 'none' })).toEqual(plain);
    const odd: ModelArtifactsData = {
      ...artifacts,
      weights: [
        { name: 'a/steps', shape: [2], dtype: 'int32', values: Int32Array.of(3, -7) },
        { name: 'b/kernel', shape: [2], dtype: 'float32', values: Float32Array.of(1, Infinity) },
        { name: 'c/kernel', shape: [3], dtype: 'float32', values: Float32Array.of(2, 2, 2) },
      ],
    };
    for (const quantize of ['uint8', 'uint16'] as TfjsQuantization[]) {
      const entries = parseModelJson(writeTfjsModel(odd, { quantize })).weightsManifest[0]!.weights;
      expect(entries.map((e) => e.quantization)).toEqual([
        undefined,
        undefined,
        { dtype: quantize, scale: 1, min: 2 },
      ]);
    }
    const f16 = parseModelJson(writeTfjsModel(odd, { quantize: 'float16' })).weightsManifest[0]!.weights;
    expect(f16.map((e) => e.quantization?.dtype)).toEqual([undefined, 'float16', 'float16']);
  });

  it('affine parameters keep 0 exactly representable (pruned zeros stay zeros)', () => {
    const values = Float32Array.of(-0.37, 0, 0.5, 1.91, 0, -0.02);
    for (const levels of [255, 65535]) {
      const { scale, min } = affineParams(values, levels);
      const code = Math.round((0 - min) / scale);
      expect(code * scale + min).toBeCloseTo(0, 12);
      expect(min).toBeLessThanOrEqual(-0.37 + scale / 2);
      expect(min + levels * scale).toBeGreaterThanOrEqual(1.91 - scale / 2);
    }
  });

  it('floatToHalf: every half converts back to itself; floats go to the nearest half, ties to even', () => {
    for (let h = 0; h < 0x10000; h++) {
      const f = halfToFloat(h);
      if (Number.isNaN(f)) expect(Number.isNaN(halfToFloat(floatToHalf(f)))).toBe(true);
      else expect(floatToHalf(f)).toBe(h);
    }
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (v) => {
        const f = Math.fround(v);
        const h = halfToFloat(floatToHalf(f));
        if (Math.abs(f) >= 65520) {
          expect(h).toBe(f > 0 ? Infinity : -Infinity);
          return;
        }
        // No half is nearer: compare with the neighbours of the chosen one.
        const bits = floatToHalf(f);
        for (const n of [bits - 1, bits + 1]) {
          if (n < 0 || n > 0xffff || (n & 0x7c00) === 0x7c00) continue;
          const other = halfToFloat(n);
          if (Math.sign(other) === Math.sign(h) || other === 0) {
            expect(Math.abs(f - h)).toBeLessThanOrEqual(Math.abs(f - other));
          }
        }
      }),
      { numRuns: 2000 },
    );
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // a tie goes to the even mantissa
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(2 ** -25)).toBe(0); // half the smallest subnormal: a tie, to even (zero)
    expect(floatToHalf(3 * 2 ** -26)).toBe(1);
  });
});

describe('writeTfjsModel properties', () => {
  const weightArb = fc
    .tuple(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }), fc.boolean())
    .chain(([shape, isInt]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = isInt
        ? fc
            .array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: n, maxLength: n })
            .map((v) => Int32Array.from(v))
        : fc.float32Array({ minLength: n, maxLength: n });
      return values.map((v) => ({
        shape,
        dtype: isInt ? ('int32' as const) : ('float32' as const),
        values: v,
      }));
    });
  const artifactsArb = fc.array(weightArb, { maxLength: 6 }).map((ws): ModelArtifactsData => ({
    modelTopology: { class_name: 'Sequential', config: { name: 'random', layers: [] } },
    weights: ws.map((w, i) => ({ name: `layer${i}/kernel`, ...w })),
    format: 'layers-model',
  }));

  it('any shard size round-trips exactly, shards opened in any order', async () => {
    await fc.assert(
      fc.asyncProperty(
        artifactsArb,
        fc.integer({ min: 1, max: 80 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (a, shardBytes, order) => {
          const files = writeTfjsModel(a, { shardBytes });
          const total = a.weights.reduce((n, w) => n + w.values.byteLength, 0);
          const shards = files.slice(1);
          expect(shards).toHaveLength(Math.ceil(total / shardBytes));
          expect(shards.every((s) => s.bytes.byteLength <= shardBytes && s.bytes.byteLength > 0)).toBe(true);
          expect(tfjsModelSize(a, { shardBytes })).toBe(files.reduce((n, f) => n + f.bytes.byteLength, 0));
          const opened = await openModelFiles(shuffle(files, order));
          expectSameWeights(opened.weights, a.weights);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('shards cut at arbitrary byte offsets reassemble exactly', async () => {
    await fc.assert(
      fc.asyncProperty(artifactsArb, fc.array(fc.nat(), { maxLength: 6 }), async (a, cutSeeds) => {
        const [jsonFile, single] = writeTfjsModel(a, { shardBytes: 1 << 30 });
        const json = JSON.parse(dec.decode(jsonFile!.bytes)) as TfjsModelJSON;
        const data = single?.bytes ?? new Uint8Array(0);
        const cuts = [...new Set(cutSeeds.map((s) => s % (data.length + 1)))].sort((p, q) => p - q);
        const bounds = [0, ...cuts, data.length];
        const pieces = bounds
          .slice(1)
          .map((end, i) => ({ path: `w/piece${i}.bin`, bytes: data.slice(bounds[i], end) }));
        if (json.weightsManifest[0]) json.weightsManifest[0].paths = pieces.map((p) => p.path.slice(2));
        const files = [
          { path: 'w/model.json', bytes: new TextEncoder().encode(JSON.stringify(json)) },
          ...pieces.reverse(),
        ];
        const opened = await openModelFiles(files);
        expectSameWeights(opened.weights, a.weights);
      }),
      { numRuns: 150 },
    );
  });
});
