/**
 * Keras .keras / .h5 readers and writers on synthetic models: every zoo model and random CNNs survive
 * both round trips (same weights, same outputs), Keras 3 config details (nested models' node indices,
 * single endpoints, dtype policies), and every kind of bad input is refused with its typed error.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { unzipSync, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import type { InputFile, ModelArtifactsData } from '../ir/artifacts';
import { buildModelIR } from '../ir/build-ir';
import { cnnSpecArb, randomCnnArtifacts, randomizeWeights } from '../testing/random-cnn';
import { ZOO } from '../testing/zoo';
import { isModelLoadError, type ModelLoadError } from './errors';
import {
  readHdf5,
  writeHdf5,
  type H5GroupView,
  type H5WriteAttr,
  type H5WriteDataset,
  type H5WriteGroup,
} from './hdf5';
import { stringListAttrs, writeKerasH5 } from './keras-h5';
import { keras3Config, writeKerasV3 } from './keras-v3';
import { openModelFiles } from './open-model';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from './tf-artifacts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const enc = new TextEncoder();
const dec = new TextDecoder();

async function fromModel(make: () => tf.LayersModel, seed: number): Promise<ModelArtifactsData> {
  const model = make();
  try {
    return randomizeWeights(await artifactsFromLayersModel(model), seed);
  } finally {
    model.dispose();
  }
}

async function predict(a: ModelArtifactsData, x: tf.Tensor): Promise<Float32Array> {
  const model = await loadLayersModelFromArtifacts(a);
  try {
    return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
  } finally {
    model.dispose();
  }
}

/** Weights by IR layer and role: what must survive whatever the format calls them. */
function bound(a: ModelArtifactsData): Record<string, number[]> {
  const ir = buildModelIR(a);
  const out: Record<string, number[]> = {};
  for (const l of ir.layers)
    for (const w of l.weights) out[`${l.name}/${w.role}`] = Array.from(a.weights[w.weightIndex]!.values);
  return out;
}

async function roundTrips(a: ModelArtifactsData, inputShape: number[]): Promise<void> {
  const x = tf.randomUniform([2, ...inputShape], -1, 1, 'float32', 9);
  const want = await predict(a, x);
  for (const [path, bytes] of [
    ['m.keras', await writeKerasV3(a)],
    ['m.h5', await writeKerasH5(a)],
  ] as const) {
    const back = await openModelFiles([{ path, bytes }]);
    expect(bound(back)).toEqual(bound(a));
    expect(await predict(back, x)).toEqual(want);
  }
  x.dispose();
}

describe('round trips through .keras and .h5', () => {
  it.each(Object.keys(ZOO))('zoo %s: same weights, same outputs', async (name) => {
    const a = await fromModel(ZOO[name]!, 3);
    const shape = buildModelIR(a).inputShape.slice(1) as number[];
    await roundTrips(a, shape);
  });

  it('random CNNs: same weights, same outputs', async () => {
    await fc.assert(
      fc.asyncProperty(cnnSpecArb(), async (spec) => {
        const { artifacts, built } = await randomCnnArtifacts(spec);
        await roundTrips(artifacts, built.inputShape);
      }),
      { numRuns: 12 },
    );
  });

  it('a Functional model nesting a Functional and a Sequential: Keras 3 node indices and endpoints', async () => {
    const a = await fromModel(ZOO['transfer-nested']!, 4);
    const config = keras3Config(a) as {
      config: { layers: Record<string, unknown>[]; input_layers: unknown; output_layers: unknown };
    };
    const byName = new Map(config.config.layers.map((l) => [l['name'], l] as const));
    const history = (layer: string) =>
      (byName.get(layer)!['inbound_nodes'] as { args: { config: { keras_history: unknown[] } }[] }[])[0]!
        .args[0]!.config.keras_history;
    // Keras counts a nested Functional's own construction as node 0 (its call is node 1); a Sequential has none.
    expect(history('head')).toEqual(['base', 1, 0]);
    expect(history('gap')).toEqual(['head', 0, 0]);
    expect(config.config.input_layers).toEqual(['image', 0, 0]);
    expect(config.config.output_layers).toEqual(['classifier', 0, 0]);
    expect(byName.get('base')!['module']).toBe('keras.src.models.functional');
    const head = byName.get('head') as {
      config: { layers: { class_name: string; config: Record<string, unknown> }[] };
    };
    // The nested Sequential's batch_input_shape moved into a leading InputLayer, Keras 3 style.
    expect(head.config.layers.map((l) => l.class_name)).toEqual(['InputLayer', 'Conv2D', 'ReLU']);
    expect(head.config.layers[0]!.config['batch_shape']).toEqual([null, 6, 6, 6]);
    expect(head.config.layers[1]!.config['batch_input_shape']).toBeUndefined();
    expect(head.config.layers[1]!.config['dtype']).toEqual({
      module: 'keras',
      class_name: 'DTypePolicy',
      config: { name: 'float32' },
      registered_name: null,
    });
    // Read back: Keras 2 / TF.js form again (a nested Sequential's call is node 1 there).
    const back = await openModelFiles([{ path: 'm.keras', bytes: await writeKerasV3(a) }]);
    const layers = (back.modelTopology.config as { layers: { name?: string; inbound_nodes?: unknown[] }[] })
      .layers;
    expect(layers.find((l) => l.name === 'gap')!.inbound_nodes).toEqual([[['head', 1, 0, {}]]]);
  });
});

describe('long attribute lists, as Keras splits them', () => {
  it('stringListAttrs splits like numpy.array_split until each chunk fits', () => {
    const names = Array.from({ length: 7 }, (_, i) => `layer_${i}`); // 7 bytes + NUL each
    expect(stringListAttrs('n', names, 1000)).toEqual([
      ['n', { kind: 'strings', values: names, fixed: true }],
    ]);
    expect(
      stringListAttrs('n', names, 24).map(([k, a]) => [k, a.kind === 'strings' ? a.values.length : 0]),
    ).toEqual([
      ['n0', 3],
      ['n1', 2],
      ['n2', 2],
    ]);
    expect(stringListAttrs('n', [])).toEqual([['n', { kind: 'empty' }]]);
  });

  it('reads chunked layer_names and weight_names (weight_names0, weight_names1, ...)', async () => {
    const a = await fromModel(ZOO['resnet']!, 6);
    const chunked = await editH5(await writeKerasH5(a), (root) => {
      const mw = root.children!.find(([n]) => n === 'model_weights')![1] as H5WriteGroup;
      const split = (g: H5WriteGroup, name: string) => {
        const attr = g.attrs!.find(([n]) => n === name)?.[1];
        if (attr?.kind !== 'strings') return;
        g.attrs = [...g.attrs!.filter(([n]) => n !== name), ...stringListAttrs(name, attr.values, 40)];
      };
      split(mw, 'layer_names');
      for (const [, g] of mw.children!) split(g as H5WriteGroup, 'weight_names');
    });
    const back = await openModelFiles([{ path: 'm.h5', bytes: chunked }]);
    expect(bound(back)).toEqual(bound(a));
  });
});

// ---------------------------------------------------------------------------------------------------
// Bad input

async function loadError(files: InputFile[]): Promise<ModelLoadError> {
  try {
    await openModelFiles(files);
  } catch (e) {
    if (isModelLoadError(e)) return e;
    throw e;
  }
  throw new Error('expected a ModelLoadError');
}

/** A read-only HDF5 view copied into a tree we can edit and write again. */
function copyTree(g: H5GroupView): H5WriteGroup {
  const attrs: [string, H5WriteAttr][] = g.attrNames().map((n) => {
    const v = g.attr(n);
    if (typeof v === 'string') return [n, { kind: 'string', value: v }];
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) {
      return [n, { kind: 'strings', values: v, fixed: true }];
    }
    return [n, { kind: 'empty' }];
  });
  const children = g.keys().map((k): [string, H5WriteGroup | H5WriteDataset] => {
    const c = g.get(k)!;
    if (c.kind === 'group') return [k, copyTree(c)];
    const arr = c.read();
    return [k, { kind: 'dataset', shape: arr.shape, values: arr.values }];
  });
  return { kind: 'group', attrs, children };
}

async function editH5(bytes: Uint8Array, edit: (root: H5WriteGroup) => void): Promise<Uint8Array> {
  const tree = await readHdf5(bytes, 'x.h5', copyTree);
  edit(tree);
  return writeHdf5(tree);
}

function setAttr(g: H5WriteGroup, name: string, value: string): void {
  g.attrs = [...(g.attrs ?? []).filter(([n]) => n !== name), [name, { kind: 'string', value }]];
}

describe('bad input is refused with a typed error naming the file', () => {
  let a: ModelArtifactsData;
  let keras: Uint8Array;
  let h5: Uint8Array;
  beforeAll(async () => {
    a = await fromModel(ZOO['resnet']!, 5);
    keras = await writeKerasV3(a);
    h5 = await writeKerasH5(a);
  });

  it('BAD_ARCHIVE for a truncated .keras, BAD_HDF5 for a truncated .h5', async () => {
    const e1 = await loadError([{ path: 'model.keras', bytes: keras.subarray(0, keras.length - 200) }]);
    expect([e1.code, e1.file]).toEqual(['BAD_ARCHIVE', 'model.keras']);
    const e2 = await loadError([{ path: 'model.h5', bytes: h5.subarray(0, h5.length >> 1) }]);
    expect([e2.code, e2.file]).toEqual(['BAD_HDF5', 'model.h5']);
    expect(e2.message).toMatch(/^'model\.h5' is not a readable HDF5 file \(truncated or corrupt\?\)/);
  });

  it('WEIGHTS_ONLY for a Keras 3 .weights.h5 and a Keras 2 save_weights file', async () => {
    const weights = unzipSync(keras)['model.weights.h5']!;
    const e1 = await loadError([{ path: 'model.weights.h5', bytes: weights }]);
    expect([e1.code, e1.file]).toEqual(['WEIGHTS_ONLY', 'model.weights.h5']);
    expect(e1.message).toContain('PruneLab needs the full model');
    expect(e1.message).toContain("model.save('model.keras')");
    // Keras 2 save_weights: model_weights' content at the top level, no model_config.
    const k2 = await editH5(h5, (root) => {
      const mw = root.children!.find(([n]) => n === 'model_weights')![1] as H5WriteGroup;
      root.attrs = mw.attrs;
      root.children = mw.children;
    });
    expect((await loadError([{ path: 'w.h5', bytes: k2 }])).code).toBe('WEIGHTS_ONLY');
  });

  it('NO_MODEL_CONFIG for an HDF5 file that is not a Keras file', async () => {
    const other = await writeHdf5({
      kind: 'group',
      children: [['data', { kind: 'dataset', shape: [2], values: Float32Array.of(1, 2) }]],
    });
    const e = await loadError([{ path: 'data.h5', bytes: other }]);
    expect([e.code, e.file]).toEqual(['NO_MODEL_CONFIG', 'data.h5']);
    expect(e.message).toContain("its top level holds 'data'");
  });

  it('MISSING_WEIGHTS when the config names a layer the weights file lacks (.h5 and .keras)', async () => {
    const noGroup = await editH5(h5, (root) => {
      const mw = root.children!.find(([n]) => n === 'model_weights')![1] as H5WriteGroup;
      mw.children = mw.children!.filter(([n]) => n !== 'b1_c1');
    });
    const e1 = await loadError([{ path: 'model.h5', bytes: noGroup }]);
    expect([e1.code, e1.layer]).toEqual(['MISSING_WEIGHTS', 'b1_c1']);
    expect(e1.message).toContain("Layer 'b1_c1' (Conv2D)");

    // A .keras whose config has one Conv2D more than its weights file.
    const files = unzipSync(keras);
    const config = JSON.parse(dec.decode(files['config.json'])) as {
      config: { layers: Record<string, unknown>[]; output_layers: unknown };
    };
    const layers = config.config.layers;
    const last = layers[layers.length - 1]!;
    const extra = structuredClone(layers.find((l) => l['class_name'] === 'Conv2D')!);
    (extra['config'] as Record<string, unknown>)['name'] = 'extra_conv';
    extra['name'] = 'extra_conv';
    layers.push(extra);
    // Make it part of the graph: it feeds nothing, so make it an output too.
    config.config.output_layers = [last['name'], 0, 0];
    config.config.output_layers = [
      [last['name'], 0, 0],
      ['extra_conv', 0, 0],
    ];
    const bytes = zipSync({ ...files, 'config.json': enc.encode(JSON.stringify(config)) });
    const e2 = await loadError([{ path: 'model.keras', bytes }]);
    expect([e2.code, e2.layer]).toEqual(['MISSING_WEIGHTS', 'extra_conv']);
  });

  it('WEIGHT_MISMATCH when a weight shape disagrees with the config (.h5 and .keras)', async () => {
    const grow = (json: string) => json.replace('"filters":4', '"filters":5');
    const badH5 = await editH5(h5, (root) => {
      const mc = root.attrs!.find(([n]) => n === 'model_config')![1] as { value: string };
      expect(grow(mc.value)).not.toBe(mc.value);
      setAttr(root, 'model_config', grow(mc.value));
    });
    const e1 = await loadError([{ path: 'model.h5', bytes: badH5 }]);
    expect(e1.code).toBe('WEIGHT_MISMATCH');
    expect(e1.message).toMatch(/has shape \[.*\], but the layer's config and input imply/);
    const files = unzipSync(keras);
    const json = dec.decode(files['config.json']);
    expect(grow(json)).not.toBe(json);
    const e2 = await loadError([
      { path: 'model.keras', bytes: zipSync({ ...files, 'config.json': enc.encode(grow(json)) }) },
    ]);
    expect(e2.code).toBe('WEIGHT_MISMATCH');
  });

  it('NOT_JSON / BAD_TOPOLOGY for a broken or subclassed config.json', async () => {
    const files = unzipSync(keras);
    const e1 = await loadError([
      { path: 'm.keras', bytes: zipSync({ ...files, 'config.json': enc.encode('{"class_name": ') }) },
    ]);
    expect([e1.code, e1.file]).toEqual(['NOT_JSON', 'config.json']);
    const sub = { module: null, class_name: 'MyModel', config: {}, registered_name: 'Custom>MyModel' };
    const e2 = await loadError([
      { path: 'm.keras', bytes: zipSync({ ...files, 'config.json': enc.encode(JSON.stringify(sub)) }) },
    ]);
    expect(e2.code).toBe('BAD_TOPOLOGY');
    expect(e2.message).toContain('subclassed models');
  });
});
