/**
 * The seven real Keras files in __fixtures__/keras (sources and licences in its SOURCES.md): each opens
 * with the classes, shapes and parameter counts SOURCES.md lists, runs in tfjs, and a random pruning
 * plan survives export to .keras and .h5 and back (same weights, same outputs, same provenance).
 * Independent oracles: Keras's own files. Our .h5 export of a Keras .h5 has Keras's positional layout
 * (same `layer_names`, same weights in the same order in each group); our .keras export of the Keras 3
 * .keras has Keras's weights layout (same groups, datasets, `name` attributes); the Keras 3 legacy .h5
 * and the .keras of one model open to the same model.
 */
// eslint-disable-next-line no-restricted-imports -- vitest runs in Node: the fixtures are read from disk
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifactsData } from '../ir/artifacts';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import type { ChannelGraph } from '../graph/types';
import type { PruningPlan } from '../plan/plan';
import { applyPlan, PRUNELAB_VERSION, readProvenance } from '../surgery/apply-plan';
import { mulberry32 } from '../testing/random-cnn';
import { modelFingerprint } from './fingerprint';
import { readHdf5, type H5GroupView } from './hdf5';
import { kerasLayerOrder, kerasModelTree, type KerasModelNode } from './keras-config';
import { writeKerasH5 } from './keras-h5';
import { writeKerasV3 } from './keras-v3';
import { openModelFiles } from './open-model';
import { loadLayersModelFromArtifacts } from './tf-artifacts';

const DIR = new URL('./__fixtures__/keras/', import.meta.url);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, DIR)));
}

async function open(name: string, bytes = fixture(name)): Promise<ModelArtifactsData> {
  return openModelFiles([{ path: name, bytes }]);
}

interface Expected {
  file: string;
  kind: 'sequential' | 'functional';
  input: number[];
  outputs: number;
  params: number;
  classes: Record<string, number>;
}

/** From SOURCES.md (layer classes at all levels, nested models themselves left out; params over all weights). */
const FIXTURES: Expected[] = [
  {
    file: 'k2_resnet8_cifar10.h5',
    kind: 'functional',
    input: [32, 32, 3],
    outputs: 10,
    params: 78666,
    classes: {
      InputLayer: 1,
      Conv2D: 9,
      BatchNormalization: 7,
      Activation: 7,
      Add: 3,
      AveragePooling2D: 1,
      Flatten: 1,
      Dense: 1,
    },
  },
  {
    file: 'k2_mobilenetv1_vww96.h5',
    kind: 'functional',
    input: [96, 96, 3],
    outputs: 2,
    params: 221794,
    classes: {
      InputLayer: 1,
      Conv2D: 14,
      DepthwiseConv2D: 13,
      BatchNormalization: 27,
      Activation: 27,
      AveragePooling2D: 1,
      Flatten: 1,
      Dense: 1,
    },
  },
  {
    file: 'k2_teachable_machine_mobilenetv2.h5',
    kind: 'sequential',
    input: [224, 224, 3],
    outputs: 5,
    params: 538808,
    classes: {
      InputLayer: 1,
      ZeroPadding2D: 5,
      Conv2D: 35,
      BatchNormalization: 52,
      ReLU: 35,
      DepthwiseConv2D: 17,
      Add: 10,
      GlobalAveragePooling2D: 1,
      Dense: 2,
    },
  },
  {
    file: 'k2_mini_xception_fer2013.h5',
    kind: 'functional',
    input: [64, 64, 1],
    outputs: 7,
    params: 58423,
    classes: {
      InputLayer: 1,
      Conv2D: 7,
      BatchNormalization: 14,
      Activation: 7,
      SeparableConv2D: 8,
      MaxPooling2D: 4,
      Add: 4,
      GlobalAveragePooling2D: 1,
    },
  },
  {
    file: 'k3_mnist_cnn_sequential.keras',
    kind: 'sequential',
    input: [28, 28, 1],
    outputs: 10,
    params: 213354,
    classes: {
      InputLayer: 1,
      Conv2D: 5,
      BatchNormalization: 6,
      MaxPooling2D: 2,
      Dropout: 4,
      GlobalAveragePooling2D: 1,
      Dense: 2,
    },
  },
  {
    file: 'k3_mnist_cnn_sequential_legacy.h5',
    kind: 'sequential',
    input: [28, 28, 1],
    outputs: 10,
    params: 213354,
    classes: {
      InputLayer: 1,
      Conv2D: 5,
      BatchNormalization: 6,
      MaxPooling2D: 2,
      Dropout: 4,
      GlobalAveragePooling2D: 1,
      Dense: 2,
    },
  },
  {
    file: 'k2_13_sudoku_digits_windows.keras',
    kind: 'sequential',
    input: [28, 28, 1],
    outputs: 9,
    params: 33225,
    classes: { InputLayer: 1, Conv2D: 2, MaxPooling2D: 2, Flatten: 1, Dropout: 1, Dense: 1 },
  },
];

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

async function predict(a: ModelArtifactsData, x: tf.Tensor): Promise<Float32Array> {
  const model = await loadLayersModelFromArtifacts(a);
  try {
    const y = model.predict(x) as tf.Tensor;
    const data = (await y.data()) as Float32Array;
    y.dispose();
    return data;
  } finally {
    model.dispose();
  }
}

/** A random plan over the prunable groups, keeping at least one channel of each. */
function randomPlan(graph: ChannelGraph, seed: number): PruningPlan {
  const rand = mulberry32(seed);
  const remove: Record<string, number[]> = {};
  for (const g of graph.groups) {
    if (!g.prunable || g.size < 2 || rand() < 0.3) continue;
    const list = Array.from({ length: g.size }, (_, i) => i).filter(() => rand() < 0.4);
    if (list.length === g.size) list.pop();
    if (list.length > 0) remove[g.producer] = list;
  }
  return { version: 1, remove };
}

/** The weights of artifacts by layer and role (names differ between formats; the IR's binding does not). */
function weightsByRole(a: ModelArtifactsData): Map<string, { shape: number[]; values: number[] }> {
  const ir = buildModelIR(a);
  const out = new Map<string, { shape: number[]; values: number[] }>();
  for (const l of ir.layers) {
    for (const w of l.weights) {
      const t = a.weights[w.weightIndex]!;
      out.set(`${l.name}/${w.role}`, { shape: t.shape, values: Array.from(t.values) });
    }
  }
  return out;
}

function expectSameModel(got: ModelArtifactsData, want: ModelArtifactsData): void {
  const g = buildModelIR(got);
  const w = buildModelIR(want);
  // Layer names, classes, order and shapes unchanged (an InputLayer Keras 3 needs may be added).
  const layers = (ir: typeof g) =>
    ir.layers.filter((l) => l.className !== 'InputLayer').map((l) => [l.name, l.className, l.outputShape]);
  expect(layers(g)).toEqual(layers(w));
  expect(g.inputShape).toEqual(w.inputShape);
  expect(weightsByRole(got)).toEqual(weightsByRole(want));
}

function classCounts(a: ModelArtifactsData): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of buildModelIR(a).layers) out[l.className] = (out[l.className] ?? 0) + 1;
  return out;
}

describe.each(FIXTURES)('$file', (fx) => {
  it('opens with the classes, shapes and parameter count SOURCES.md lists', async () => {
    const a = await open(fx.file);
    const ir = buildModelIR(a);
    expect(ir.kind).toBe(fx.kind);
    expect(ir.inputShape).toEqual([null, ...fx.input]);
    const out = ir.layers.find((l) => l.name === ir.outputs[0])!;
    expect(out.outputShape).toEqual([null, fx.outputs]);
    expect(classCounts(a)).toEqual(fx.classes);
    expect(a.weights.reduce((n, w) => n + w.values.length, 0)).toBe(fx.params);
    expect(a.weights.every((w) => w.dtype === 'float32' && /^[^:]+\/[a-z_]+$/.test(w.name))).toBe(true);
  });

  it('runs in tfjs; a random pruning plan survives .keras and .h5 export (same weights, outputs, provenance)', async () => {
    const a = await open(fx.file);
    const ir = buildModelIR(a);
    const graph = buildChannelGraph(ir);
    let seed = 7;
    let plan = randomPlan(graph, seed);
    while (Object.keys(plan.remove).length === 0) plan = randomPlan(graph, ++seed);
    const { artifacts: pruned } = applyPlan(a, plan, ir, graph);
    const x = tf.randomUniform([2, ...fx.input], 0, 1, 'float32', 3);
    const want = await predict(pruned, x);
    expect(want.length).toBe(2 * fx.outputs);
    expect(want.every(Number.isFinite)).toBe(true);

    const keras = await writeKerasV3(pruned);
    const h5 = await writeKerasH5(pruned);
    for (const [name, bytes] of [
      ['pruned.keras', keras],
      ['pruned.h5', h5],
    ] as const) {
      const back = await openModelFiles([{ path: name, bytes }]);
      expectSameModel(back, pruned);
      expect(await predict(back, x)).toEqual(want);
      // The record comes back as written, plus the writer's own entry (issue 11).
      const format = name.endsWith('.keras') ? 'keras-v3' : 'keras-h5';
      expect(readProvenance(back)).toEqual({
        ...readProvenance(pruned),
        writer: expect.objectContaining({ name: 'PruneLab', version: PRUNELAB_VERSION, format }) as unknown,
      });
      expect(modelFingerprint(back)).toBe(modelFingerprint(pruned));
    }
    x.dispose();
  });

  it('exports .keras and .h5 without what Keras 3 refuses (DepthwiseConv2D groups, initializer dtype, \\ paths)', async () => {
    const files = unzipSync(await writeKerasV3(await open(fx.file)));
    expect(Object.keys(files).sort()).toEqual(['config.json', 'metadata.json', 'model.weights.h5']);
    const config = JSON.parse(new TextDecoder().decode(files['config.json'])) as unknown;
    const problems: string[] = [];
    const walk = (v: unknown, key: string): void => {
      if (Array.isArray(v)) v.forEach((x) => walk(x, key));
      else if (typeof v === 'object' && v !== null) {
        const o = v as Record<string, unknown>;
        const cfg = o['config'] as Record<string, unknown> | undefined;
        if (o['class_name'] === 'DepthwiseConv2D' && cfg && 'groups' in cfg)
          problems.push(`groups in ${String(cfg['name'])}`);
        if (key.endsWith('_initializer') && cfg && 'dtype' in cfg) problems.push(`dtype in ${key}`);
        if (
          o['class_name'] !== undefined &&
          o['module'] === undefined &&
          o['class_name'] !== '__keras_tensor__'
        ) {
          problems.push(`no module on ${JSON.stringify(o['class_name'])}`);
        }
        for (const [k, x] of Object.entries(o)) walk(x, k);
      }
    };
    walk(config, '');
    expect(problems).toEqual([]);
    // The .h5 export's model_config (Keras 2 form, no modules) has neither quirk either.
    const h5Config = await readHdf5(
      await writeKerasH5(await open(fx.file)),
      'x.h5',
      (root) => JSON.parse(root.attr('model_config') as string) as unknown,
    );
    walk(h5Config, '');
    expect(problems.filter((p) => !p.startsWith('no module'))).toEqual([]);
    const paths = await readHdf5(files['model.weights.h5']!, 'model.weights.h5', (root) => {
      const out: string[] = [];
      const visit = (g: H5GroupView): void => {
        for (const k of g.keys()) {
          const c = g.get(k)!;
          out.push(c.path);
          if (c.kind === 'group') visit(c);
        }
      };
      visit(root);
      return out;
    });
    expect(paths.filter((p) => p.includes('\\'))).toEqual([]);
    expect(paths).toContain('/vars');
  });
});

/** Each `model_weights` group's datasets in `weight_names` order: shapes and values (Keras loads by position). */
async function legacyLayout(bytes: Uint8Array): Promise<[string, [number[], number[]][]][]> {
  return readHdf5(bytes, 'x.h5', (root) => {
    const mw = root.get('model_weights') as H5GroupView;
    const layerNames = mw.attr('layer_names') as string[];
    return layerNames.map((layer): [string, [number[], number[]][]] => {
      const g = mw.get(layer) as H5GroupView;
      const names = g.attr('weight_names');
      const list = Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
      return [
        layer,
        list.map((n) => {
          const d = g.get(n);
          if (d?.kind !== 'dataset') throw new Error(`no ${n}`);
          const arr = d.read();
          return [arr.shape, Array.from(arr.values)];
        }),
      ];
    });
  });
}

describe('Keras-written files as oracles', () => {
  it.each(FIXTURES.filter((f) => f.file.endsWith('.h5')).map((f) => f.file))(
    '%s: our .h5 export has Keras layout: same layer_names, same weights in the same order per group',
    async (file) => {
      const ours = await writeKerasH5(await open(file));
      expect(await legacyLayout(ours)).toEqual(await legacyLayout(fixture(file)));
    },
  );

  it.each(FIXTURES.filter((f) => f.kind === 'functional').map((f) => f.file))(
    "%s: Keras's map_graph layer order, recomputed, is the order Keras wrote the config in",
    async (file) => {
      const check = (m: KerasModelNode): void => {
        if (m.className !== 'Sequential') {
          expect(kerasLayerOrder(m).map((l) => l.local)).toEqual(m.layers.map((l) => l.local));
        }
        for (const l of m.layers) if (l.model) check(l.model);
      };
      check(kerasModelTree((await open(file)).modelTopology));
    },
  );

  it('the Teachable Machine nested model: map_graph order of its MobileNetV2 equals the config order', async () => {
    const tree = kerasModelTree((await open('k2_teachable_machine_mobilenetv2.h5')).modelTopology);
    const model2 = tree.layers[0]!.model!.layers[0]!.model!;
    expect(model2.className).toBe('Model');
    expect(kerasLayerOrder(model2).map((l) => l.local)).toEqual(model2.layers.map((l) => l.local));
  });

  it('our .keras export of the Keras 3 .keras has Keras 3 weights layout (groups, datasets, name attributes)', async () => {
    const layout = (bytes: Uint8Array) =>
      readHdf5(bytes, 'model.weights.h5', (root) => {
        const out: string[] = [];
        const visit = (g: H5GroupView): void => {
          const name = g.attr('name');
          if (name !== undefined) out.push(`${g.path} @name=${JSON.stringify(name)}`);
          for (const k of g.keys()) {
            const c = g.get(k)!;
            if (c.kind === 'group') visit(c);
            else out.push(`${c.path} ${JSON.stringify(c.read().shape)} ${c.read().stored}`);
          }
        };
        visit(root);
        return out.filter((p) => !p.startsWith('/optimizer')).sort();
      });
    const original = unzipSync(fixture('k3_mnist_cnn_sequential.keras'))['model.weights.h5']!;
    const ours = unzipSync(await writeKerasV3(await open('k3_mnist_cnn_sequential.keras')))[
      'model.weights.h5'
    ]!;
    expect(await layout(ours)).toEqual(await layout(original));
  });

  it('the Keras 3 legacy .h5 and the .keras of one model open to the same model', async () => {
    const a = await open('k3_mnist_cnn_sequential.keras');
    const b = await open('k3_mnist_cnn_sequential_legacy.h5');
    expectSameModel(a, b);
    expect(modelFingerprint(a)).toBe(modelFingerprint(b));
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 5);
    expect(await predict(a, x)).toEqual(await predict(b, x));
    x.dispose();
  });
});
