/**
 * Issue 11: exports that load everywhere, in the form the user came with.
 *
 * Oracles independent of PruneLab's loader: plain `@tensorflow/tfjs` `loadLayersModel` on the written
 * bytes (its own manifest decoding and dequantization), the bytes of the files that were opened, and
 * Keras 3's rules for legacy .h5 Sequentials as read in its source (keras/src/legacy/saving/
 * saving_utils.py `model_from_config`, keras/src/models/sequential.py `add`/`build`).
 */
// eslint-disable-next-line no-restricted-imports -- vitest runs in Node: the fixtures are read from disk
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import type { InputFile, ModelArtifactsData, OutputFile } from '../ir/artifacts';
import type { TfjsModelJSON } from '../ir/keras-json';
import { buildModelIR } from '../ir/build-ir';
import { loadModel, type OpenedModel } from '../load';
import { planLowestFraction } from '../plan/auto';
import type { PruningPlan } from '../plan/plan';
import { scoreGroups } from '../scoring';
import { applyPlan, PRUNELAB_VERSION, readProvenance } from '../surgery/apply-plan';
// eslint-disable-next-line no-restricted-imports -- the wasm backend as the CLI runs it (Node setup)
import { initNodeBackend } from '../../node/tf-node';
import { writeTfjsModel, tfjsModelSize } from './export-tfjs';
import { readHdf5 } from './hdf5';
import { writeKerasH5 } from './keras-h5';
import { writeKerasV3 } from './keras-v3';
import { defaultQuantization, filesBytes, sourceStorageOf } from './source-storage';
import { keras3HardSigmoidLayer, loadLayersModelFromArtifacts } from './tf-artifacts';
import { tfjsPortableTopology } from './tfjs-portable';

const KERAS = new URL('./__fixtures__/keras/', import.meta.url);
const SAMPLE = new URL('../../../public/samples/mnist-cnn/', import.meta.url);

function read(url: URL): Uint8Array {
  return new Uint8Array(readFileSync(url));
}

const KERAS_FIXTURES = [
  'k2_resnet8_cifar10.h5',
  'k2_mobilenetv1_vww96.h5',
  'k2_teachable_machine_mobilenetv2.h5',
  'k2_mini_xception_fer2013.h5',
  'k3_mnist_cnn_sequential.keras',
  'k3_mnist_cnn_sequential_legacy.h5',
  'k2_13_sudoku_digits_windows.keras',
];

function sampleFiles(): InputFile[] {
  return [
    { path: 'mnist-cnn/model.json', bytes: read(new URL('model.json', SAMPLE)) },
    { path: 'mnist-cnn/group1-shard1of1.bin', bytes: read(new URL('group1-shard1of1.bin', SAMPLE)) },
  ];
}

/** Plain tfjs, no PruneLab code: model.json + shards -> tf.io.fromMemory -> tf.loadLayersModel. */
async function plainTfjsLoad(files: OutputFile[]): Promise<tf.LayersModel> {
  const json = JSON.parse(new TextDecoder().decode(files[0]!.bytes)) as TfjsModelJSON;
  const byName = new Map(files.map((f) => [f.path, f.bytes] as const));
  const group = json.weightsManifest[0];
  const parts = (group?.paths ?? []).map((p) => byName.get(p)!);
  const data = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.byteLength;
  }
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as unknown as tf.io.ModelArtifacts['modelTopology'],
      weightSpecs: (group?.weights ?? []) as tf.io.WeightsManifestEntry[],
      weightData: data.buffer,
    }),
  );
}

function plan30(m: OpenedModel): PruningPlan {
  return planLowestFraction(m.graph, scoreGroups(m.ir, m.artifacts, m.graph, 'l1'), 0.3);
}

/** A seeded input batch of the model's input shape, values in [0, 1). */
function inputFor(model: tf.LayersModel, seed: number): tf.Tensor {
  const shape = model.inputs[0]!.shape.map((d, i) => (i === 0 ? 2 : d!));
  return tf.randomUniform(shape, 0, 1, 'float32', seed);
}

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('TF.js exports load in plain tfjs and predict as PruneLab does (30% by l1)', () => {
  const cases: [string, () => InputFile[]][] = [
    ...KERAS_FIXTURES.map((f): [string, () => InputFile[]] => [
      f,
      () => [{ path: f, bytes: read(new URL(f, KERAS)) }],
    ]),
    ['bundled sample mnist-cnn', sampleFiles],
  ];
  it.each(cases)('%s', async (_name, files) => {
    const m = await loadModel(files());
    const plan = plan30(m);
    expect(Object.keys(plan.remove).length).toBeGreaterThan(0);
    const { artifacts: pruned } = applyPlan(m.artifacts, plan, m.ir, m.graph);
    const written = writeTfjsModel(pruned, { source: sourceStorageOf(m.artifacts) });
    const plain = await plainTfjsLoad(written);
    const ours = await loadLayersModelFromArtifacts(pruned);
    try {
      const x = inputFor(ours, 7);
      const a = plain.predict(x) as tf.Tensor;
      const b = ours.predict(x) as tf.Tensor;
      expect(a.shape).toEqual(b.shape);
      const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
      expect(diff).toBeLessThanOrEqual(1e-5);
      tf.dispose([x, a, b]);
    } finally {
      plain.dispose();
      ours.dispose();
    }
    const json = JSON.parse(new TextDecoder().decode(written[0]!.bytes)) as TfjsModelJSON;
    const record = json.userDefinedMetadata?.['prunelab'] as { writer: { name: string; version: string } };
    expect(record.writer).toMatchObject({
      name: 'PruneLab',
      version: PRUNELAB_VERSION,
      format: 'tfjs-layers-model',
    });
  });

  it("ResNet-8's L2 regularizers: plain tfjs refuses the untranslated topology, reads the written one, and the record says what changed", async () => {
    const f = 'k2_resnet8_cifar10.h5';
    const m = await loadModel([{ path: f, bytes: read(new URL(f, KERAS)) }]);
    const { artifacts } = applyPlan(m.artifacts, { version: 1, remove: {} }, m.ir, m.graph);
    const raw = structuredClone(artifacts.modelTopology);
    await expect(tf.loadLayersModel(tf.io.fromMemory({ modelTopology: raw as never }))).rejects.toThrow(
      /Unknown regularizer: L2/,
    );
    const written = writeTfjsModel(artifacts);
    const text = new TextDecoder().decode(written[0]!.bytes);
    expect(text).not.toContain('"class_name":"L2"');
    const notes = readProvenance(JSON.parse(text) as ModelArtifactsData)?.writer?.notes?.join('\n');
    expect(notes).toMatch(/kernel_regularizer L2 written as L1L2/);
    (await plainTfjsLoad(written)).dispose();
  });

  it('an activation tfjs lacks is refused by name; silu becomes swish; mixed precision becomes float32', () => {
    const topo = (activation: string, dtype: unknown = 'float32') =>
      ({
        class_name: 'Sequential',
        config: {
          name: 's',
          layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, activation, dtype } }],
        },
      }) as never;
    expect(() => tfjsPortableTopology(topo('exponential'))).toThrow(
      /Layer 'd' uses activation 'exponential'/,
    );
    const silu = tfjsPortableTopology(
      topo('silu', { class_name: 'DTypePolicy', config: { name: 'mixed_float16' } }),
    );
    const cfg = (silu.topology.config as { layers: { config: Record<string, unknown> }[] }).layers[0]!.config;
    expect(cfg['activation']).toBe('swish');
    expect(cfg['dtype']).toBe('float32');
    expect(silu.notes).toHaveLength(2);
  });

  it("Keras 3's hard_sigmoid (another function than tfjs's) is refused by name: on export, on build, and warned at open", async () => {
    const topo = (version: string | undefined, activation: unknown) =>
      ({
        class_name: 'Sequential',
        ...(version ? { keras_version: version } : {}),
        config: {
          name: 's',
          layers: [
            { class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 3] } },
            { class_name: 'Dense', config: { name: 'gate', units: 2, activation } },
          ],
        },
      }) as never;
    expect(() => tfjsPortableTopology(topo('3.11.3', 'hard_sigmoid'))).toThrow(
      /Layer 'gate' uses Keras 3's hard_sigmoid/,
    );
    // Keras 3's serialised form of a built-in activation.
    expect(() =>
      tfjsPortableTopology(
        topo('3.4.1', { module: 'keras.activations', class_name: 'function', config: 'hard_sigmoid' }),
      ),
    ).toThrow(/'gate'/);
    // Keras 2 means what tfjs means.
    expect(() => tfjsPortableTopology(topo('2.15.0', 'hard_sigmoid'))).not.toThrow();
    expect(keras3HardSigmoidLayer(topo(undefined, 'hard_sigmoid'))).toBeUndefined();
    const weights = [
      { name: 'gate/kernel', shape: [3, 2], dtype: 'float32' as const, values: new Float32Array(6) },
      { name: 'gate/bias', shape: [2], dtype: 'float32' as const, values: new Float32Array(2) },
    ];
    const e = await loadLayersModelFromArtifacts({
      modelTopology: topo('3.11.3', 'hard_sigmoid'),
      weights,
    }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'BUILD_FAILED', layer: 'gate' });
    const built = await loadLayersModelFromArtifacts({
      modelTopology: topo('2.15.0', 'hard_sigmoid'),
      weights,
    });
    built.dispose();
    const { analyseArtifacts } = await import('../load');
    expect(
      analyseArtifacts({ modelTopology: topo('3.11.3', 'hard_sigmoid'), weights }).warnings.join(' '),
    ).toMatch(/Layer 'gate' uses Keras 3's hard_sigmoid/);
  });
});

/** The sample written with the given storage, as a user's quantized model would be; and its model.json's bytes. */
async function quantizedSampleFiles(
  q: 'uint8' | 'uint16' | 'float16',
): Promise<{ m: OpenedModel; jsonBytes: number }> {
  const files = writeTfjsModel((await loadModel(sampleFiles())).artifacts, { quantize: q });
  return { m: await loadModel(files), jsonBytes: files[0]!.bytes.byteLength };
}

async function quantizedSample(q: 'uint8' | 'uint16' | 'float16'): Promise<OpenedModel> {
  return (await quantizedSampleFiles(q)).m;
}

describe('quantized in, the same quantization out', () => {
  it.each(['uint8', 'uint16', 'float16'] as const)(
    '%s: recorded on open, kept by default, values lossless, fewer bytes than opened for any plan that removes filters',
    async (q) => {
      const { m, jsonBytes: inputJson } = await quantizedSampleFiles(q);
      const source = sourceStorageOf(m.artifacts)!;
      expect(defaultQuantization(source)).toBe(q);
      const inputBytes = source.bytes;
      let smaller = 0;
      const groups = m.graph.groups.filter((g) => g.prunable);
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              g: fc.nat(groups.length - 1),
              picks: fc.uniqueArray(fc.nat(63), { minLength: 1, maxLength: 20 }),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          async (steps) => {
            const remove: Record<string, number[]> = {};
            for (const { g, picks } of steps) {
              const group = groups[g]!;
              const list = [...new Set(picks.map((i) => i % group.size))].slice(0, group.size - 1);
              if (list.length > 0) remove[group.producer] = list.sort((a, b) => a - b);
            }
            fc.pre(Object.keys(remove).length > 0);
            const { artifacts } = applyPlan(m.artifacts, { version: 1, remove }, m.ir, m.graph);
            const files = writeTfjsModel(artifacts, { source });
            const written = filesBytes(files);
            // Shards shrink by exactly the removed weights' stored bytes; model.json grows by at most
            // the provenance record (kept indices of every touched layer, which others' scripts read).
            // So the file is smaller whenever the weights removed outweigh the record, which every
            // plan here but a one-or-two-filter cut does; never larger than input + record - removed.
            const per = q === 'uint8' ? 1 : 2;
            const removed =
              (m.artifacts.weights.reduce((n, w) => n + w.values.length, 0) -
                artifacts.weights.reduce((n, w) => n + w.values.length, 0)) *
              per;
            const json = JSON.parse(new TextDecoder().decode(files[0]!.bytes)) as TfjsModelJSON;
            const record = `,"userDefinedMetadata":${JSON.stringify(json.userDefinedMetadata)}`.length;
            expect(filesBytes(files.slice(1))).toBe(inputBytes - inputJson - removed);
            expect(written).toBeLessThanOrEqual(inputBytes - removed + record);
            if (removed > record) expect(written).toBeLessThan(inputBytes);
            smaller += written < inputBytes ? 1 : 0;
            expect(tfjsModelSize(artifacts, { source })).toBe(written);
            expect(json.weightsManifest[0]!.weights.every((w) => w.quantization?.dtype === q)).toBe(true);
            // Lossless: a quantized export of a pruned quantized model reads back to the same values.
            const back = await loadModel(files);
            back.artifacts.weights.forEach((w, i) => expect(w.values).toEqual(artifacts.weights[i]!.values));
          },
        ),
        { numRuns: 12, seed: 11 },
      );
      expect(smaller).toBeGreaterThanOrEqual(9); // most random plans remove far more than the record
    },
  );

  it('a float32 model stays float32 by default; an explicit choice wins', async () => {
    const m = await loadModel(sampleFiles());
    expect(defaultQuantization(sourceStorageOf(m.artifacts))).toBe('none');
    const { artifacts } = applyPlan(m.artifacts, plan30(m), m.ir, m.graph);
    const json = (files: OutputFile[]) =>
      JSON.parse(new TextDecoder().decode(files[0]!.bytes)) as TfjsModelJSON;
    expect(json(writeTfjsModel(artifacts)).weightsManifest[0]!.weights.some((w) => w.quantization)).toBe(
      false,
    );
    const q8 = await quantizedSample('uint8');
    const p8 = applyPlan(q8.artifacts, plan30(q8), q8.ir, q8.graph).artifacts;
    const none = json(writeTfjsModel(p8, { source: sourceStorageOf(q8.artifacts), quantize: 'none' }));
    expect(none.weightsManifest[0]!.weights.some((w) => w.quantization)).toBe(false);
  });
});

describe('Keras writers say who wrote the file', () => {
  it('.keras: no keras_version claimed; saved_by PruneLab and its version; writer in the record', async () => {
    const f = 'k3_mnist_cnn_sequential.keras';
    const m = await loadModel([{ path: f, bytes: read(new URL(f, KERAS)) }]);
    const { artifacts } = applyPlan(m.artifacts, { version: 1, remove: {} }, m.ir, m.graph);
    const zip = unzipSync(await writeKerasV3(artifacts));
    const meta = JSON.parse(new TextDecoder().decode(zip['metadata.json'])) as Record<string, unknown>;
    expect(meta['keras_version']).toBeUndefined();
    expect(meta['saved_by']).toBe(`PruneLab ${PRUNELAB_VERSION}`);
    expect(meta['prunelab']).toMatchObject({
      plan: { remove: {} },
      writer: { name: 'PruneLab', version: PRUNELAB_VERSION, format: 'keras-v3', formatVersion: '3' },
    });
  });

  it('.h5 of the Teachable Machine model: every Sequential starts with an InputLayer or a model (Keras 3 legacy rules), and reads back', async () => {
    const f = 'k2_teachable_machine_mobilenetv2.h5';
    const m = await loadModel([{ path: f, bytes: read(new URL(f, KERAS)) }]);
    const { artifacts } = applyPlan(m.artifacts, plan30(m), m.ir, m.graph);
    const bytes = await writeKerasH5(artifacts);
    const { config, savedBy } = await readHdf5(bytes, 'tm.h5', (root) => ({
      config: JSON.parse(String(root.attr('model_config'))) as Record<string, unknown>,
      savedBy: root.attr('saved_by'),
    }));
    expect(savedBy).toBe(`PruneLab ${PRUNELAB_VERSION}`);
    const sequentials: { name: string; layers: Record<string, unknown>[] }[] = [];
    const walk = (e: Record<string, unknown>): void => {
      const c = e['config'] as Record<string, unknown>;
      const layers = c['layers'] as Record<string, unknown>[] | undefined;
      if (!layers) return;
      if (e['class_name'] === 'Sequential') sequentials.push({ name: String(c['name']), layers });
      layers.forEach(walk);
    };
    walk(config);
    expect(sequentials.map((s) => s.name)).toEqual(['sequential_8', 'sequential_5', 'sequential_7']);
    for (const s of sequentials) {
      const first = s.layers[0]!;
      const isModel = Array.isArray((first['config'] as Record<string, unknown>)['layers']);
      expect(isModel || first['class_name'] === 'InputLayer').toBe(true);
      // model_from_config would turn this into input_shape with an extra batch axis.
      for (const l of s.layers.slice(first['class_name'] === 'InputLayer' ? 1 : 0))
        expect((l['config'] as Record<string, unknown>)['batch_input_shape']).toBeUndefined();
    }
    const head = sequentials[2]!.layers[0]!['config'] as Record<string, unknown>;
    const pooled = buildModelIR(artifacts).layers.find((l) => l.className === 'GlobalAveragePooling2D')!;
    const kept = pooled.outputShape[pooled.outputShape.length - 1];
    expect(kept).toBeLessThan(1280);
    expect(head['batch_input_shape']).toEqual([null, kept]);
    // Reads back to the same model (PruneLab's reader; Keras's own is not available here).
    const back = await loadModel([{ path: 'tm.h5', bytes }]);
    back.artifacts.weights.forEach((w, i) => expect(w.values).toEqual(artifacts.weights[i]!.values));
  });
});
