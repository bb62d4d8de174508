import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { InputFile, ModelArtifactsData } from '../ir/artifacts';
import type { ManifestGroup } from '../ir/keras-json';
import { isModelLoadError, type ModelLoadError } from './errors';
import { confineManifestPath, tfjsFormat } from './tfjs-format';

const topology = { class_name: 'Sequential', config: { name: 'tiny', layers: [] } };
const enc = new TextEncoder();

function file(path: string, content: string | Uint8Array | object): InputFile {
  const bytes =
    content instanceof Uint8Array
      ? content
      : enc.encode(typeof content === 'string' ? content : JSON.stringify(content));
  return { path, bytes };
}

function modelJson(weightsManifest: ManifestGroup[], extra: object = {}, path = 'model.json'): InputFile {
  return file(path, { modelTopology: topology, weightsManifest, format: 'layers-model', ...extra });
}

function f32(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

function i32(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setInt32(4 * i, v, true));
  return out;
}

function u16(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v, true));
  return out;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function loadError(files: InputFile[]): Promise<ModelLoadError> {
  try {
    await tfjsFormat.open(files);
  } catch (e) {
    if (isModelLoadError(e)) return e;
    throw e;
  }
  throw new Error('expected a ModelLoadError');
}

function valuesOf(a: ModelArtifactsData): Record<string, number[]> {
  return Object.fromEntries(a.weights.map((w) => [w.name, Array.from(w.values)]));
}

/** A small two-weight model: kernel [2,3] float32 and an int32 step counter, in one group. */
const kernel = [0.5, -1.25, 2, 3.75, -0.125, 8];
const counter = [7, -3];
const twoWeights: ManifestGroup = {
  paths: ['group1-shard1of1.bin'],
  weights: [
    { name: 'dense/kernel', shape: [2, 3], dtype: 'float32' },
    { name: 'opt/step', shape: [2], dtype: 'int32' },
  ],
};
const twoWeightsBin = cat(f32(kernel), i32(counter));

describe('tfjsFormat.match', () => {
  it('claims files that look like JSON, by name or by content', () => {
    expect(tfjsFormat.match([file('model.json', '{"modelTopology": {}}')])).toBe(true);
    expect(tfjsFormat.match([file('download', '\uFEFF  {\n "modelTopology": {}}')])).toBe(true);
    expect(tfjsFormat.match([file('broken.json', 'not json')])).toBe(true);
    expect(tfjsFormat.match([file('a.png', Uint8Array.of(0x89, 0x50)), file('b.bin', f32([1]))])).toBe(false);
    // A binary shard starting with `{` is not JSON.
    expect(tfjsFormat.match([file('w.bin', Uint8Array.of(0x7b, 0x00, 0x12))])).toBe(false);
  });
});

describe('tfjsFormat.open', () => {
  it('opens a model.json with its shard and keeps the metadata', async () => {
    const a = await tfjsFormat.open([
      modelJson([twoWeights], {
        generatedBy: 'keras v2.15.0',
        convertedBy: null,
        userDefinedMetadata: { labels: ['cat', 'dog'] },
      }),
      file('group1-shard1of1.bin', twoWeightsBin),
    ]);
    expect(a.modelTopology).toEqual(topology);
    expect(a.format).toBe('layers-model');
    expect(a.generatedBy).toBe('keras v2.15.0');
    expect(a.convertedBy).toBeNull();
    expect(a.userDefinedMetadata).toEqual({ labels: ['cat', 'dog'] });
    expect(a.weights.map((w) => [w.name, w.shape, w.dtype])).toEqual([
      ['dense/kernel', [2, 3], 'float32'],
      ['opt/step', [2], 'int32'],
    ]);
    expect(a.weights[0]!.values).toEqual(new Float32Array(kernel));
    expect(a.weights[1]!.values).toEqual(new Int32Array(counter));
  });

  it('takes files in any order, inside folders, and a JSON by any name', async () => {
    const orders: InputFile[][] = [
      [file('shards/group1-shard1of1.bin', twoWeightsBin), modelJson([twoWeights], {}, 'mymodel/model.json')],
      [file('x/y/group1-shard1of1.bin', twoWeightsBin), modelJson([twoWeights], {}, 'weights_manifest')],
      [
        file('notes.txt', 'hello'),
        file('group1-shard1of1.bin', twoWeightsBin),
        modelJson([twoWeights], {}, 'mnist.JSON'),
      ],
    ];
    for (const files of orders) {
      expect(valuesOf(await tfjsFormat.open(files))).toEqual({ 'dense/kernel': kernel, 'opt/step': counter });
    }
  });

  it('resolves manifest paths relative to the JSON, and prefers the shard beside it', async () => {
    const group: ManifestGroup = { ...twoWeights, paths: ['weights/group1-shard1of1.bin'] };
    const other = cat(f32([9, 9, 9, 9, 9, 9]), i32([9, 9]));
    const a = await tfjsFormat.open([
      file('other/weights/group1-shard1of1.bin', other),
      modelJson([group], {}, 'm/model.json'),
      file('m/weights/group1-shard1of1.bin', twoWeightsBin),
    ]);
    expect(valuesOf(a)['dense/kernel']).toEqual(kernel);
  });

  it('with two models dropped, opens model.json and uses the shard in its own folder', async () => {
    const other = cat(f32([9, 9, 9, 9, 9, 9]), i32([9, 9]));
    const a = await tfjsFormat.open([
      modelJson([twoWeights], { generatedBy: 'second' }, 'b/other.json'),
      file('b/group1-shard1of1.bin', other),
      file('a/group1-shard1of1.bin', twoWeightsBin),
      modelJson([twoWeights], { generatedBy: 'first' }, 'a/model.json'),
    ]);
    expect(a.generatedBy).toBe('first');
    expect(valuesOf(a)['dense/kernel']).toEqual(kernel);
  });

  it('tolerates URL-encoded manifest paths', async () => {
    const group: ManifestGroup = { ...twoWeights, paths: ['my%20model.bin'] };
    const a = await tfjsFormat.open([modelJson([group]), file('my model.bin', twoWeightsBin)]);
    expect(valuesOf(a)['opt/step']).toEqual(counter);
  });

  it('concatenates shards in manifest order; a weight may straddle files', async () => {
    const group: ManifestGroup = {
      ...twoWeights,
      paths: ['group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin'],
    };
    const a = await tfjsFormat.open([
      file('group1-shard3of3.bin', twoWeightsBin.subarray(22)),
      file('group1-shard1of3.bin', twoWeightsBin.subarray(0, 10)),
      modelJson([group]),
      file('group1-shard2of3.bin', twoWeightsBin.subarray(10, 22)),
    ]);
    expect(valuesOf(a)).toEqual({ 'dense/kernel': kernel, 'opt/step': counter });
  });

  it('reads several groups, weights in manifest order', async () => {
    const g1: ManifestGroup = { paths: ['g1.bin'], weights: [{ name: 'a', shape: [2], dtype: 'float32' }] };
    const g2: ManifestGroup = { paths: ['g2.bin'], weights: [{ name: 'b', shape: [1], dtype: 'float32' }] };
    const a = await tfjsFormat.open([
      file('g2.bin', f32([3])),
      modelJson([g1, g2]),
      file('g1.bin', f32([1, 2])),
    ]);
    expect(a.weights.map((w) => w.name)).toEqual(['a', 'b']);
    expect(valuesOf(a)).toEqual({ a: [1, 2], b: [3] });
  });

  it('unwraps a converted Keras topology (model_config inside modelTopology)', async () => {
    const wrapped = {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: topology,
      training_config: {},
    };
    const a = await tfjsFormat.open([file('model.json', { modelTopology: wrapped, weightsManifest: [] })]);
    expect(a.modelTopology).toEqual({ ...topology, keras_version: '2.15.0', backend: 'tensorflow' });
    expect(a.weights).toEqual([]);
  });

  describe('quantized manifests', () => {
    // Hand-computed expectations; tfjs' own decoder (tf.io.decodeWeights) is checked to agree.
    const group: ManifestGroup = {
      paths: ['group1-shard1of1.bin'],
      weights: [
        // 3 bytes: puts every later weight at an odd offset.
        {
          name: 'u8',
          shape: [3],
          dtype: 'float32',
          quantization: { dtype: 'uint8', scale: 0.25, min: -0.5 },
        },
        {
          name: 'u16',
          shape: [2],
          dtype: 'float32',
          quantization: { dtype: 'uint16', scale: 0.0001, min: 1 },
        },
        { name: 'f16', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'float16' } },
        { name: 'i8', shape: [2], dtype: 'int32', quantization: { dtype: 'uint8', scale: 2, min: -10 } },
        { name: 'plain', shape: [1], dtype: 'float32' },
      ],
    };
    const bin = cat(
      Uint8Array.of(0, 2, 255), // -0.5, 0, 63.25
      u16([0, 12345]), // 1, 2.2345
      u16([0x3c00, 0xc200, 0x7bff, 0x0001]), // 1, -3, 65504, 2^-24
      Uint8Array.of(0, 7), // -10, 4
      f32([0.1]),
    );
    const expected = {
      u8: [-0.5, 0, 63.25],
      u16: [1, 2.2345],
      f16: [1, -3, 65504, 2 ** -24],
      i8: [-10, 4],
      plain: [0.1],
    };

    beforeAll(async () => {
      await tf.setBackend('cpu');
    });

    it('dequantize to the hand-computed values', async () => {
      const a = await tfjsFormat.open([modelJson([group]), file('group1-shard1of1.bin', bin)]);
      const got = valuesOf(a);
      for (const [name, want] of Object.entries(expected)) {
        want.forEach((v, i) => expect(got[name]![i]).toBeCloseTo(v, 6));
      }
      expect(a.weights.map((w) => [w.dtype, w.values.constructor.name])).toEqual([
        ['float32', 'Float32Array'],
        ['float32', 'Float32Array'],
        ['float32', 'Float32Array'],
        ['int32', 'Int32Array'],
        ['float32', 'Float32Array'],
      ]);
    });

    it('agree exactly with tfjs decodeWeights', async () => {
      const a = await tfjsFormat.open([modelJson([group]), file('group1-shard1of1.bin', bin)]);
      const before = tf.memory().numTensors;
      const named = tf.io.decodeWeights(bin.slice().buffer, group.weights as tf.io.WeightsManifestEntry[]);
      for (const w of a.weights) {
        const t = named[w.name]!;
        expect(t.shape).toEqual(w.shape);
        expect(t.dataSync()).toEqual(w.values);
      }
      tf.dispose(Object.values(named));
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  describe('errors name the file or weight and quote the bad value', () => {
    it('NOT_JSON for a model.json that does not parse', async () => {
      const e = await loadError([
        file('model.json', '{"modelTopology": {"class_name": '),
        file('group1-shard1of1.bin', f32([1])),
      ]);
      expect(e.code).toBe('NOT_JSON');
      expect(e.message).toMatch(/^'model\.json' is not valid JSON: .+/);
      expect(e.file).toBe('model.json');
    });

    it('no NOT_JSON when another file is the model', async () => {
      const a = await tfjsFormat.open([
        file('labels.json', '{oops'),
        modelJson([twoWeights], {}, 'm.json'),
        file('group1-shard1of1.bin', twoWeightsBin),
      ]);
      expect(a.weights).toHaveLength(2);
    });

    it('NOT_LAYERS_MODEL for a graph model, saying so', async () => {
      const graph = {
        format: 'graph-model',
        generatedBy: '2.15.0',
        modelTopology: { node: [{ name: 'x', op: 'Placeholder' }], library: {}, versions: {} },
        weightsManifest: [],
      };
      const e = await loadError([file('model.json', graph)]);
      expect(e.code).toBe('NOT_LAYERS_MODEL');
      expect(e.message).toMatch(
        /^'model\.json' is a TF\.js graph model \(format 'graph-model'\), not a LayersModel/,
      );
      expect(e.message).toContain('Its keys: format, generatedBy, modelTopology, weightsManifest.');
      // Without the format field, the GraphDef's nodes give it away.
      const e2 = await loadError([file('model.json', { ...graph, format: undefined })]);
      expect(e2.message).toMatch(/graph model/);
    });

    it('NOT_LAYERS_MODEL for JSON without modelTopology, listing its keys', async () => {
      const e = await loadError([file('config.json', { class_name: 'Sequential', config: {} })]);
      expect(e.code).toBe('NOT_LAYERS_MODEL');
      expect(e.message).toBe(
        "'config.json' is JSON but not a TF.js LayersModel model.json: it has no 'modelTopology'. Its keys: class_name, config.",
      );
    });

    it('MISSING_SHARD names the file', async () => {
      const group: ManifestGroup = {
        ...twoWeights,
        paths: ['group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin'],
      };
      const e = await loadError([
        modelJson([group]),
        file('group1-shard1of3.bin', f32([1])),
        file('group1-shard3of3.bin', f32([1])),
      ]);
      expect(e.code).toBe('MISSING_SHARD');
      expect(e.message).toBe("Weight file 'group1-shard2of3.bin' listed in model.json was not provided.");
      expect(e.file).toBe('group1-shard2of3.bin');
    });

    it('MISSING_SHARD lists every missing file', async () => {
      const g2: ManifestGroup = {
        paths: ['group2-shard1of1.bin'],
        weights: [{ name: 'b', shape: [1], dtype: 'float32' }],
      };
      const group: ManifestGroup = { ...twoWeights, paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'] };
      const e = await loadError([modelJson([group, g2], {}, 'mobilenet/model.json')]);
      expect(e.code).toBe('MISSING_SHARD');
      expect(e.message).toBe(
        "Weight files 'group1-shard1of2.bin', 'group1-shard2of2.bin', 'group2-shard1of1.bin' listed in model.json were not provided.",
      );
    });

    it('SHARD_SIZE_MISMATCH when a shard is short, naming the weight that does not fit', async () => {
      const group: ManifestGroup = {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'conv1/kernel', shape: [3, 3, 1, 16], dtype: 'float32' },
          { name: 'conv1/bias', shape: [16], dtype: 'float32' },
        ],
      };
      const e = await loadError([modelJson([group]), file('group1-shard1of1.bin', new Uint8Array(300))]);
      expect(e.code).toBe('SHARD_SIZE_MISMATCH');
      expect(e.message).toMatch(
        /^Weight 'conv1\/kernel' \(shape \[3,3,1,16\], float32\) needs bytes 0\.\.576 but 'group1-shard1of1\.bin' holds only 300 bytes\. /,
      );
      expect(e.message).toContain('need 640 bytes');
      expect(e.file).toBe('group1-shard1of1.bin');

      // Short by a little: the first weight fits, the bias does not.
      const e2 = await loadError([modelJson([group]), file('group1-shard1of1.bin', new Uint8Array(600))]);
      expect(e2.message).toMatch(
        /^Weight 'conv1\/bias' \(shape \[16\], float32\) needs bytes 576\.\.640 but/,
      );
    });

    it('SHARD_SIZE_MISMATCH over several shards names them all', async () => {
      const group: ManifestGroup = {
        paths: ['a.bin', 'b.bin'],
        weights: [
          { name: 'q', shape: [10], dtype: 'float32', quantization: { dtype: 'uint8', scale: 1, min: 0 } },
        ],
      };
      const e = await loadError([
        modelJson([group]),
        file('m/a.bin', new Uint8Array(4)),
        file('m/b.bin', new Uint8Array(4)),
      ]);
      expect(e.message).toMatch(
        /^Weight 'q' \(shape \[10\], float32 quantized to uint8\) needs bytes 0\.\.10 but 'm\/a\.bin' and 'm\/b\.bin' hold only 8 bytes together\./,
      );
    });

    it('SHARD_SIZE_MISMATCH when a shard is too long', async () => {
      const e = await loadError([
        modelJson([twoWeights]),
        file('group1-shard1of1.bin', cat(twoWeightsBin, f32([1]))),
      ]);
      expect(e.code).toBe('SHARD_SIZE_MISMATCH');
      expect(e.message).toMatch(
        /^'group1-shard1of1\.bin' holds 36 bytes but the manifest's 2 weights need only 32 bytes; the last, 'opt\/step' \(shape \[2\], int32\), ends at byte 32\./,
      );
    });

    it('UNSUPPORTED_DTYPE for unknown dtypes and quantizations', async () => {
      const bad: ManifestGroup = {
        paths: ['w.bin'],
        weights: [{ name: 'table/keys', shape: [2], dtype: 'string' }],
      };
      const e = await loadError([modelJson([bad]), file('w.bin', new Uint8Array(8))]);
      expect(e.code).toBe('UNSUPPORTED_DTYPE');
      expect(e.message).toMatch(/^Weight 'table\/keys' has dtype 'string'/);
      expect(e.file).toBe('model.json');

      const q: ManifestGroup = {
        paths: ['w.bin'],
        weights: [
          {
            name: 'conv/kernel',
            shape: [2],
            dtype: 'float32',
            quantization: { dtype: 'int8', scale: 1, min: 0 },
          },
        ],
      };
      const e2 = await loadError([modelJson([q])]); // reported before the missing shard
      expect(e2.code).toBe('UNSUPPORTED_DTYPE');
      expect(e2.message).toMatch(/^Weight 'conv\/kernel' has quantization dtype 'int8'/);
    });

    it('BAD_TOPOLOGY for a malformed manifest or topology', async () => {
      const badShape = { paths: ['w.bin'], weights: [{ name: 'w', shape: [2, -1], dtype: 'float32' }] };
      const e = await loadError([
        file('model.json', { modelTopology: topology, weightsManifest: [badShape] }),
      ]);
      expect(e.code).toBe('BAD_TOPOLOGY');
      expect(e.message).toBe("'model.json' has a malformed weightsManifest: weight 'w' has shape [2,-1].");
      const e2 = await loadError([file('model.json', { modelTopology: 'Sequential' })]);
      expect(e2.message).toBe("'model.json' has a 'modelTopology' of 'Sequential', not an object.");
    });

    it('UNRECOGNIZED_FORMAT when no file is JSON', async () => {
      const e = await loadError([
        file('a.png', Uint8Array.of(0x89)),
        file('b.txt', 'hi'),
        file('c.bin', f32([1])),
      ]);
      expect(e.code).toBe('UNRECOGNIZED_FORMAT');
      expect(e.message).toMatch(/^None of the 3 files \(a\.png, b\.txt, c\.bin\) is a TF\.js model\.json/);
    });
  });
});

describe('confineManifestPath', () => {
  it('lets paths below the model folder through and names every way out', () => {
    for (const ok of ['group1-shard1of1.bin', 'sub/x.bin', 'sub/../x.bin', './x.bin']) {
      expect(() => confineManifestPath(ok, 'm/model.json')).not.toThrow();
    }
    for (const [path, why] of [
      ['../../../../etc/passwd', "a '..' that climbs out of it"],
      ['/etc/passwd', 'an absolute path'],
      ['..\\..\\x.bin', "a '..' that climbs out of it"],
      ['%2e%2e/x.bin', "a '..' that climbs out of it"],
      ['C:/x.bin', 'a drive letter'],
    ] as const) {
      let caught: unknown;
      try {
        confineManifestPath(path, 'm/model.json');
      } catch (e) {
        caught = e;
      }
      expect(isModelLoadError(caught) && caught.code).toBe('PATH_ESCAPE');
      expect((caught as Error).message).toBe(
        `'m/model.json' lists the weight file '${path}', whose path leaves the model's folder (${why}). ` +
          'Only files beside model.json or below it are read.',
      );
    }
  });
});
