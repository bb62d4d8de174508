import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import { ModelLoadError } from './errors';
import {
  describeTfjsError,
  loadLayersModelFromArtifacts,
  predictChecked,
  tfjsCompatibleTopology,
} from './tf-artifacts';

describe('tfjsCompatibleTopology', () => {
  it('rewrites Keras L2 / L1 regularizers as the L1L2 tfjs knows, leaving everything else (and the input) alone', () => {
    const topology = {
      class_name: 'Sequential',
      config: {
        layers: [
          {
            class_name: 'Conv2D',
            config: {
              kernel_regularizer: { class_name: 'L2', config: { l2: 0.0001 } },
              bias_regularizer: { class_name: 'L1', config: { l1: 0.5 } },
              activity_regularizer: { class_name: 'L1L2', config: { l1: 0, l2: 1 } },
              kernel_initializer: { class_name: 'L2', config: {} },
            },
          },
        ],
      },
    };
    const before = structuredClone(topology);
    const out = tfjsCompatibleTopology(topology);
    expect(topology).toEqual(before);
    expect(out.config.layers[0]!.config).toEqual({
      kernel_regularizer: { class_name: 'L1L2', config: { l1: 0, l2: 0.0001 } },
      bias_regularizer: { class_name: 'L1L2', config: { l1: 0.5, l2: 0 } },
      activity_regularizer: { class_name: 'L1L2', config: { l1: 0, l2: 1 } },
      kernel_initializer: { class_name: 'L2', config: {} },
    });
    const plain = { class_name: 'Sequential', config: { layers: [] } };
    expect(tfjsCompatibleTopology(plain)).toBe(plain);
  });
});

describe('loadLayersModelFromArtifacts: failures are typed and leak nothing', () => {
  const conv = (name: string, extra: Record<string, unknown> = {}) => ({
    class_name: 'Conv2D',
    config: { name, filters: 2, kernel_size: [3, 3], padding: 'same', ...extra },
  });
  const w = (name: string, shape: number[]): WeightTensor => ({
    name,
    shape,
    dtype: 'float32',
    values: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1),
  });
  const seq = (layers: unknown[], weights: WeightTensor[]): ModelArtifactsData => ({
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 's', layers },
    } as ModelArtifactsData['modelTopology'],
    weights,
  });
  const convWeights = [
    w('c1/kernel', [3, 3, 1, 2]),
    w('c1/bias', [2]),
    w('c2/kernel', [3, 3, 2, 2]),
    w('c2/bias', [2]),
  ];

  beforeAll(async () => {
    await tf.setBackend('cpu');
    await tf.ready();
  });

  it('a build that fails after two layers made their weights: BUILD_FAILED naming the layer, tensors back to before', async () => {
    // Flatten of [?, ?, ?, 2] cannot be built: tfjs throws after c1 and c2 created their variables.
    const a = seq(
      [
        conv('c1', { batch_input_shape: [null, null, null, 1] }),
        conv('c2'),
        { class_name: 'Flatten', config: { name: 'flat' } },
      ],
      convWeights,
    );
    const before = tf.memory().numTensors;
    const e = await loadLayersModelFromArtifacts(a).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelLoadError);
    expect((e as ModelLoadError).code).toBe('BUILD_FAILED');
    expect((e as ModelLoadError).message).toMatch(
      /^TensorFlow.js could not build .*input to "Flatten" is not fully defined/,
    );
    expect((e as ModelLoadError).message).not.toContain('\n');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('weights tfjs refuses (a missing kernel): BUILD_FAILED, the half-built model disposed, no tensor left', async () => {
    const a = seq([conv('c1', { batch_input_shape: [null, 4, 4, 1] }), conv('c2')], convWeights.slice(0, 3));
    const before = tf.memory().numTensors;
    const e = await loadLayersModelFromArtifacts(a).catch((x: unknown) => x);
    expect((e as ModelLoadError).code).toBe('BUILD_FAILED');
    expect(tf.memory().numTensors).toBe(before);
    // The same model with its weights builds, and disposing it returns every tensor.
    const ok = await loadLayersModelFromArtifacts(
      seq([conv('c1', { batch_input_shape: [null, 4, 4, 1] }), conv('c2')], convWeights),
    );
    ok.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("an unknown class: one sentence naming the layer instead of tfjs's three-line 'Unknown layer'", async () => {
    const a = seq(
      [
        conv('c1', { batch_input_shape: [null, 4, 4, 1] }),
        { class_name: 'FooLayer', config: { name: 'foo' } },
      ],
      convWeights.slice(0, 2),
    );
    const e = (await loadLayersModelFromArtifacts(a).catch((x: unknown) => x)) as ModelLoadError;
    expect(e.code).toBe('BUILD_FAILED');
    expect(e.layer).toBe('foo');
    expect(e.message).toBe("Layer 'foo' has class 'FooLayer', which TensorFlow.js cannot build.");
  });

  it('rewrites tfjs messages into one short sentence', () => {
    const topology = {
      class_name: 'Sequential',
      config: {
        layers: [
          conv('conv1'),
          {
            class_name: 'Dense',
            config: { name: 'd', kernel_initializer: { class_name: 'Nope', config: {} } },
          },
        ],
      },
    };
    expect(
      describeTfjsError(
        new Error(
          'Unknown initializer: Nope. This may be due to one of the following reasons:\n1. ...\n2. ...',
        ),
        topology,
      ),
    ).toEqual({
      message: "Layer 'd' has initializer 'Nope', which TensorFlow.js cannot build.",
      layer: 'd',
    });
    expect(
      describeTfjsError(
        new Error(
          'Error when checking : expected conv1_input to have shape [null,28,28,1] but got array with shape [1,32,32,3].',
        ),
        topology,
      ).message,
    ).toBe("The model expects input 'conv1_input' of shape [?,28,28,1], but was given [1,32,32,3].");
    expect(
      describeTfjsError(new TypeError("Cannot create property 'customObjects' on string ''"), topology)
        .message,
    ).toBe("TensorFlow.js could not build the model: Cannot create property 'customObjects' on string ''");
    expect(
      describeTfjsError(new Error('Input 0 is incompatible with layer conv1: expected ndim=4'), topology),
    ).toMatchObject({ layer: 'conv1' });
  });

  it('predictChecked: a wrong input size is BAD_SAMPLES saying what the model expects', async () => {
    const m = await loadLayersModelFromArtifacts(
      seq([conv('c1', { batch_input_shape: [null, 4, 4, 1] })], convWeights.slice(0, 2)),
    );
    const x = tf.zeros([1, 5, 5, 3]);
    expect(() => predictChecked(m, x)).toThrow(
      /^The model expects inputs of 4x4x1 \(shape \[\?, 4, 4, 1\]\), but was given 5x5x3/,
    );
    const y = predictChecked(m, tf.zeros([2, 4, 4, 1])) as tf.Tensor;
    expect(y.shape).toEqual([2, 4, 4, 2]);
    tf.dispose([x, y]);
    m.dispose();
  });
});

describe('loadLayersModelFromArtifacts with share: a pruned model on its original tensors', () => {
  it('predicts exactly as a model built on its own, costs only the weights the plan changed, and either model can go first', async () => {
    await tf.setBackend('cpu');
    const input = tf.input({ shape: [10, 10, 3] });
    const c1 = tf.layers.conv2d({ filters: 8, kernelSize: 3, name: 'c1', activation: 'relu' }).apply(input);
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(c1);
    const c2 = tf.layers.conv2d({ filters: 6, kernelSize: 3, name: 'c2' }).apply(bn);
    const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, name: 'dw', padding: 'same' }).apply(c2);
    const flat = tf.layers.flatten({ name: 'flat' }).apply(dw);
    const out = tf.layers.dense({ units: 4, name: 'out' }).apply(flat) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: out });
    const { artifactsFromLayersModel } = await import('./tf-artifacts');
    const { applyPlan } = await import('../surgery/apply-plan');
    // Random, non-trivial BN statistics so that sharing the wrong vector would show.
    const original = await artifactsFromLayersModel(m);
    m.dispose();
    for (const w of original.weights)
      w.values.forEach((_, i, v) => (v[i] = Math.sin(i * 7.3 + w.name.length)));
    for (const w of original.weights)
      if (w.name.includes('moving_variance')) w.values.forEach((x, i, v) => (v[i] = 1 + Math.abs(x)));
    const base = await loadLayersModelFromArtifacts(original);
    const pruned = applyPlan(original, { version: 1, remove: { c2: [1, 4] } }).artifacts;
    const bytes = (ws: readonly WeightTensor[]) => ws.reduce((n, w) => n + w.values.length * 4, 0);
    const changed = pruned.weights.filter((w, i) => w.values !== original.weights[i]!.values);
    expect(changed.map((w) => w.name).sort()).toEqual([
      'c2/bias',
      'c2/kernel',
      'dw/bias',
      'dw/depthwise_kernel',
      'out/kernel',
    ]);

    // New data buffers: exactly the changed weights; every other variable holds its original's data.
    const buffers = () => (tf.memory() as unknown as { numDataBuffers: number }).numDataBuffers;
    const before = buffers();
    const sharedModel = await loadLayersModelFromArtifacts(pruned, {
      share: { model: base, artifacts: original },
    });
    expect(buffers() - before).toBe(changed.length);
    const baseData = new Map(base.weights.map((v) => [v.originalName, v.read().dataId]));
    const same = sharedModel.weights.filter((v) => baseData.get(v.originalName) === v.read().dataId);
    expect(same.map((v) => v.originalName).sort()).toEqual(
      pruned.weights
        .filter((w) => !changed.includes(w))
        .map((w) => w.name)
        .sort(),
    );
    expect(bytes(changed)).toBeLessThan(bytes(pruned.weights));
    const alone = await loadLayersModelFromArtifacts(pruned);
    const x = tf.randomUniform([3, 10, 10, 3], 0, 1, 'float32', 5);
    const a = (sharedModel.predict(x) as tf.Tensor).arraySync() as number[][];
    const b = (alone.predict(x) as tf.Tensor).arraySync() as number[][];
    expect(a).toEqual(b);
    alone.dispose();
    // Training the pruned model replaces its tensors and leaves the original's as they were.
    const baseBefore = base.weights.map((v) => Array.from(v.read().dataSync()));
    sharedModel.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
    await sharedModel.fit(x, tf.ones([3, 4]), { epochs: 2, verbose: 0 });
    expect(base.weights.map((v) => Array.from(v.read().dataSync()))).toEqual(baseBefore);
    const trained = (sharedModel.predict(x) as tf.Tensor).arraySync();
    expect(trained).not.toEqual(b);
    // The original goes first: the shared tensors stay for the pruned model, which predicts the same.
    base.dispose();
    expect((sharedModel.predict(x) as tf.Tensor).arraySync()).toEqual(trained);
    sharedModel.dispose();
    x.dispose();
  });
});

describe('loadLayersModelFromArtifacts starts every weight as its own values', () => {
  /** An initializer that must never run: the loader starts weights from their values instead. */
  class NeverInit extends tf.serialization.Serializable {
    static className = 'TestNeverInit';
    override getClassName(): string {
      return NeverInit.className;
    }
    getConfig(): tf.serialization.ConfigDict {
      return {};
    }
    apply(): tf.Tensor {
      throw new Error('the layer initializer ran');
    }
  }
  tf.serialization.registerClass(NeverInit);
  const never = { class_name: NeverInit.className, config: {} };

  it('runs no layer initializer, holds the values exactly, and writes them once', async () => {
    await tf.setBackend('cpu');
    const input = tf.input({ shape: [6, 6, 2] });
    const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, name: 'c' }).apply(input);
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(c);
    const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, name: 'dw', padding: 'same' }).apply(bn);
    const flat = tf.layers.flatten({ name: 'flat' }).apply(dw);
    const out = tf.layers.dense({ units: 2, name: 'out' }).apply(flat) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: out });
    const { artifactsFromLayersModel } = await import('./tf-artifacts');
    const a = await artifactsFromLayersModel(m);
    m.dispose();
    for (const w of a.weights) w.values.forEach((_, i, v) => (v[i] = Math.cos(i * 3.1 + w.name.length)));
    for (const w of a.weights)
      if (w.name.includes('moving_variance')) w.values.forEach((x, i, v) => (v[i] = 1 + Math.abs(x)));
    // Every initializer of the file is one that throws when run.
    const topology = JSON.parse(
      JSON.stringify(a.modelTopology, (k, v: unknown) => (k.endsWith('_initializer') ? never : v)),
    ) as ModelArtifactsData['modelTopology'];
    expect(JSON.stringify(topology)).toContain(NeverInit.className);
    const model = await loadLayersModelFromArtifacts({ ...a, modelTopology: topology });
    try {
      const byName = new Map(a.weights.map((w) => [w.name, w]));
      expect(model.weights.length).toBe(a.weights.length);
      for (const v of model.weights) {
        const w = byName.get(v.originalName)!;
        expect(Array.from(v.read().dataSync()), v.originalName).toEqual(Array.from(w.values));
      }
      // Snapshotting names the file's initializers again, never the loader's own.
      const snap = await artifactsFromLayersModel(model);
      const text = JSON.stringify(snap.modelTopology);
      expect(text).not.toContain('Prunelab');
      expect(text).toContain(NeverInit.className);
    } finally {
      model.dispose();
    }
  });
});
