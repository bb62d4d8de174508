import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../io/errors';
import type { ModelArtifactsData, WeightTensor } from './artifacts';
import type { KerasModelTopology } from './keras-json';
import { buildModelIR } from './build-ir';

function w(name: string, shape: number[]): WeightTensor {
  return { name, shape, dtype: 'float32', values: new Float32Array(shape.reduce((p, d) => p * d, 1)) };
}

function artifacts(topology: unknown, weights: WeightTensor[]): ModelArtifactsData {
  return { modelTopology: topology as KerasModelTopology, weights };
}

function layer(className: string, config: Record<string, unknown>, inbound?: unknown[]) {
  return { class_name: className, config, ...(inbound ? { inbound_nodes: inbound } : {}) };
}

/** conv1 (3x3, 8 filters) -> flatten -> out (10): a Keras-2 style Sequential. */
function smallSequential(weights?: WeightTensor[]) {
  return artifacts(
    {
      class_name: 'Sequential',
      config: {
        name: 'seq',
        layers: [
          layer('Conv2D', {
            name: 'conv1',
            filters: 8,
            kernel_size: [3, 3],
            batch_input_shape: [null, 28, 28, 1],
          }),
          layer('Flatten', { name: 'flatten' }),
          layer('Dense', { name: 'out', units: 10 }),
        ],
      },
    },
    weights ?? [
      w('conv1/kernel', [3, 3, 1, 8]),
      w('conv1/bias', [8]),
      w('out/kernel', [5408, 10]),
      w('out/bias', [10]),
    ],
  );
}

function catchError(fn: () => unknown): ModelLoadError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ModelLoadError) return e;
    throw e;
  }
  throw new Error('expected a ModelLoadError');
}

describe('buildModelIR: topologies', () => {
  it('reads a Sequential: shapes, inbound, weights by role', () => {
    const ir = buildModelIR(smallSequential());
    expect(ir.kind).toBe('sequential');
    expect(ir.name).toBe('seq');
    expect(ir.inputs).toEqual(['conv1_input']);
    expect(ir.outputs).toEqual(['out']);
    expect(ir.inputShape).toEqual([null, 28, 28, 1]);
    expect(ir.layers.map((l) => [l.name, l.inbound, l.inputShape, l.outputShape])).toEqual([
      ['conv1', [], [null, 28, 28, 1], [null, 26, 26, 8]],
      ['flatten', ['conv1'], [null, 26, 26, 8], [null, 5408]],
      ['out', ['flatten'], [null, 5408], [null, 10]],
    ]);
    expect(ir.layers[0]!.weights).toEqual([
      { role: 'kernel', weightIndex: 0, shape: [3, 3, 1, 8] },
      { role: 'bias', weightIndex: 1, shape: [8] },
    ]);
  });

  it('reads a legacy array config with batchInputShape, `:0` suffixes, nested scopes and model_config', () => {
    const legacy = {
      keras_version: '2.1.6',
      model_config: {
        class_name: 'Sequential',
        config: [
          layer('Conv1D', {
            name: 'c',
            filters: 4,
            kernel_size: 3,
            batchInputShape: [null, 10, 2],
            use_bias: false,
          }),
          layer('BatchNormalization', { name: 'bn', scale: false }),
          layer('GlobalAveragePooling1D', { name: 'gap' }),
          layer('Dense', { name: 'd', units: 3 }),
        ],
      },
    };
    const ir = buildModelIR(
      artifacts(legacy, [
        w('model/c/kernel:0', [3, 2, 4]),
        w('bn/beta:0', [4]),
        w('model/bn/moving_mean:0', [4]),
        w('bn/moving_variance', [4]),
        w('d/kernel', [4, 3]),
        w('d/bias', [3]),
      ]),
    );
    expect(ir.layers.map((l) => l.outputShape)).toEqual([
      [null, 8, 4],
      [null, 8, 4],
      [null, 4],
      [null, 3],
    ]);
    expect(ir.layers[1]!.weights.map((r) => [r.role, r.weightIndex])).toEqual([
      ['beta', 1],
      ['moving_mean', 2],
      ['moving_variance', 3],
    ]);
  });

  it('reads a Sequential with an explicit InputLayer, and resolves Reshape -1', () => {
    const ir = buildModelIR(
      artifacts(
        {
          class_name: 'Sequential',
          config: {
            layers: [
              layer('InputLayer', { name: 'input_1', batch_input_shape: [null, 4, 6] }),
              layer('Reshape', { name: 'r', target_shape: [-1, 3, 2] }),
            ],
          },
        },
        [],
      ),
    );
    expect(ir.inputs).toEqual(['input_1']);
    expect(ir.layers.map((l) => l.outputShape)).toEqual([
      [null, 4, 6],
      [null, 4, 3, 2],
    ]);
  });

  it('reads a Functional DAG (Keras 2 / TF.js inbound_nodes), in topological order', () => {
    const topology = {
      class_name: 'Functional',
      config: {
        name: 'res',
        layers: [
          // Listed out of order on purpose: 'add' before one of its inputs.
          layer('InputLayer', { name: 'in', batch_input_shape: [null, 8, 8, 4] }, []),
          layer('Add', { name: 'add' }, [
            [
              ['in', 0, 0, {}],
              ['c1', 0, 0, {}],
            ],
          ]),
          layer('Conv2D', { name: 'c1', filters: 4, kernel_size: 1 }, [[['in', 0, 0, {}]]]),
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['add', 0, 0]],
      },
    };
    const ir = buildModelIR(artifacts(topology, [w('c1/kernel', [1, 1, 4, 4]), w('c1/bias', [4])]));
    expect(ir.kind).toBe('functional');
    expect(ir.layers.map((l) => [l.index, l.name, l.inbound])).toEqual([
      [0, 'in', []],
      [2, 'c1', ['in']],
      [1, 'add', ['in', 'c1']],
    ]);
    expect(ir.outputs).toEqual(['add']);
    expect(ir.inputShape).toEqual([null, 8, 8, 4]);
  });

  it('reads Keras 3 inbound nodes ({args, kwargs}, keras_history), batch_shape, and vars/N weight names', () => {
    const tensor = (name: string) => ({
      class_name: '__keras_tensor__',
      config: { shape: [null, 5], dtype: 'float32', keras_history: [name, 0, 0] },
    });
    const topology = {
      class_name: 'Functional',
      config: {
        name: 'k3',
        layers: [
          layer('InputLayer', { name: 'input_layer', batch_shape: [null, 5] }, []),
          layer('Dense', { name: 'dense', units: 2 }, [{ args: [tensor('input_layer')], kwargs: {} }]),
        ],
        input_layers: ['input_layer', 0, 0],
        output_layers: ['dense', 0, 0],
      },
    };
    const ir = buildModelIR(
      artifacts(topology, [w('layers/dense/vars/1', [2]), w('layers/dense/vars/0', [5, 2])]),
    );
    expect(ir.layers[1]!.weights).toEqual([
      { role: 'kernel', weightIndex: 1, shape: [5, 2] },
      { role: 'bias', weightIndex: 0, shape: [2] },
    ]);
  });
});

describe('buildModelIR: errors name the layer and quote the bad value', () => {
  it('loads a class not in the table (Lambda, custom): unknown sizes, channels read back from the next weights', () => {
    const a = smallSequential([
      w('conv1/kernel', [3, 3, 1, 8]),
      w('conv1/bias', [8]),
      w('lambda_1/some/state', [3]),
      w('out/kernel', [5408, 10]),
      w('out/bias', [10]),
    ]);
    const cfg = a.modelTopology.config as { layers: unknown[] };
    cfg.layers.splice(1, 0, layer('Lambda', { name: 'lambda_1', function: 'x => x' }));
    const ir = buildModelIR(a);
    expect(ir.layers.map((l) => [l.name, l.inputShape, l.outputShape])).toEqual([
      ['conv1', [null, 28, 28, 1], [null, 26, 26, 8]],
      ['lambda_1', [null, 26, 26, 8], [null, null, null, null]],
      ['flatten', [null, null, null, null], [null, 5408]],
      ['out', [null, 5408], [null, 10]],
    ]);
    // An unknown class keeps whatever weights it has.
    expect(ir.layers[1]!.weights).toEqual([{ role: 'state', weightIndex: 2, shape: [3] }]);
  });

  it('WEIGHT_MISMATCH: wrong shape, missing weight, extra weight, orphan weight', () => {
    const bad = catchError(() =>
      buildModelIR(
        smallSequential([
          w('conv1/kernel', [3, 3, 1, 16]),
          w('conv1/bias', [8]),
          w('out/kernel', [5408, 10]),
          w('out/bias', [10]),
        ]),
      ),
    );
    expect(bad.code).toBe('WEIGHT_MISMATCH');
    expect(bad.layer).toBe('conv1');
    expect(bad.message).toBe(
      "Weight 'kernel' of layer 'conv1' (Conv2D) has shape [3, 3, 1, 16], but the layer's config and input imply [3, 3, 1, 8] (manifest name 'conv1/kernel').",
    );
    const missing = catchError(() =>
      buildModelIR(
        smallSequential([w('conv1/kernel', [3, 3, 1, 8]), w('out/kernel', [5408, 10]), w('out/bias', [10])]),
      ),
    );
    expect(missing.message).toBe(
      "Layer 'conv1' (Conv2D) has no weight 'bias' (expected shape [8]) in the weights manifest.",
    );
    const extra = catchError(() =>
      buildModelIR(
        smallSequential([
          w('conv1/kernel', [3, 3, 1, 8]),
          w('conv1/bias', [8]),
          w('flatten/scale', [1]),
          w('out/kernel', [5408, 10]),
          w('out/bias', [10]),
        ]),
      ),
    );
    expect(extra.message).toBe(
      "Layer 'flatten' (Flatten) has an unexpected weight 'flatten/scale' of shape [1]; its config implies no weights.",
    );
    const orphan = catchError(() =>
      buildModelIR(
        smallSequential([
          w('conv1/kernel', [3, 3, 1, 8]),
          w('conv1/bias', [8]),
          w('ghost/kernel', [2]),
          w('out/kernel', [5408, 10]),
          w('out/bias', [10]),
        ]),
      ),
    );
    expect(orphan.code).toBe('WEIGHT_MISMATCH');
    expect(orphan.message).toBe(
      "Weight 'ghost/kernel' (shape [2]) does not belong to any layer of the model.",
    );
  });

  it('BAD_TOPOLOGY: no input shape, unknown inbound, cycle, duplicate names, not a model, bad config', () => {
    const noShape = artifacts(
      { class_name: 'Sequential', config: { layers: [layer('Dense', { name: 'd', units: 2 })] } },
      [],
    );
    expect(catchError(() => buildModelIR(noShape)).message).toBe(
      "The Sequential model does not say its input shape: its first layer 'd' has no batch_input_shape.",
    );
    const fun = (layers: unknown[]) =>
      artifacts(
        {
          class_name: 'Model',
          config: { layers, input_layers: [['in', 0, 0]], output_layers: [['a', 0, 0]] },
        },
        [],
      );
    const input = layer('InputLayer', { name: 'in', batch_input_shape: [null, 3] }, []);
    const unknown = catchError(() =>
      buildModelIR(fun([input, layer('ReLU', { name: 'a' }, [[['zzz', 0, 0, {}]]])])),
    );
    expect(unknown.code).toBe('BAD_TOPOLOGY');
    expect(unknown.message).toBe("Layer 'a' takes its input from 'zzz', which is not in the model.");
    const cycle = catchError(() =>
      buildModelIR(
        fun([
          input,
          layer('Add', { name: 'a' }, [
            [
              ['in', 0, 0, {}],
              ['b', 0, 0, {}],
            ],
          ]),
          layer('ReLU', { name: 'b' }, [[['a', 0, 0, {}]]]),
        ]),
      ),
    );
    expect(cycle.code).toBe('CYCLE');
    expect(cycle.message).toMatch(/cycle: a -> b -> a/);
    const dup = catchError(() =>
      buildModelIR(fun([input, layer('ReLU', { name: 'in' }, [[['in', 0, 0, {}]]])])),
    );
    expect(dup.message).toBe("Two layers are named 'in'.");
    expect(
      catchError(() => buildModelIR(artifacts({ class_name: 'Thing', config: { layers: [input] } }, [])))
        .code,
    ).toBe('BAD_TOPOLOGY');
    const badKernel = smallSequential();
    (badKernel.modelTopology.config as { layers: { config: Record<string, unknown> }[] }).layers[0]!.config[
      'kernel_size'
    ] = 'big';
    expect(catchError(() => buildModelIR(badKernel)).message).toBe(
      `Layer 'conv1' (Conv2D) has kernel_size = "big"; expected 2 integer(s).`,
    );
  });

  it('UNSUPPORTED_LAYER for shared layers and channels_first', () => {
    const shared = artifacts(
      {
        class_name: 'Functional',
        config: {
          layers: [
            layer('InputLayer', { name: 'in', batch_input_shape: [null, 3] }, []),
            layer('ReLU', { name: 'r' }, [[['in', 0, 0, {}]], [['in', 0, 0, {}]]]),
          ],
          input_layers: [['in', 0, 0]],
          output_layers: [['r', 1, 0]],
        },
      },
      [],
    );
    const e = catchError(() => buildModelIR(shared));
    expect(e.code).toBe('UNSUPPORTED_LAYER');
    expect(e.message).toBe(
      "Layer 'r' is called 2 times (shared weights), which PruneLab cannot analyse yet.",
    );
    const cf = smallSequential();
    (cf.modelTopology.config as { layers: { config: Record<string, unknown> }[] }).layers[0]!.config[
      'data_format'
    ] = 'channels_first';
    const e2 = catchError(() => buildModelIR(cf));
    expect(e2.code).toBe('UNSUPPORTED_LAYER');
    expect(e2.message).toMatch(/'conv1' \(Conv2D\) uses data_format 'channels_first'/);
  });
});

describe('buildModelIR: nested models (transfer learning)', () => {
  const inner = (name: string, layers: unknown[], inputs: string[], outputs: string[]) => ({
    class_name: 'Functional',
    name,
    config: {
      name,
      layers,
      input_layers: inputs.map((n) => [n, 0, 0]),
      output_layers: outputs.map((n) => [n, 0, 0]),
    },
  });

  it('flattens a nested Functional (Keras call index 1, two outputs) and a nested Sequential into scoped names', () => {
    const base = inner(
      'base',
      [
        layer('InputLayer', { name: 'base_in', batch_input_shape: [null, 4, 4, 3] }, []),
        layer('Conv2D', { name: 'conv', filters: 5, kernel_size: 1 }, [[['base_in', 0, 0, {}]]]),
        layer('ReLU', { name: 'relu' }, [[['conv', 0, 0, {}]]]),
      ],
      ['base_in'],
      ['relu', 'conv'],
    );
    const head = {
      class_name: 'Sequential',
      name: 'head',
      config: {
        name: 'head',
        layers: [
          layer('Conv2D', { name: 'conv', filters: 2, kernel_size: 1, batch_input_shape: [null, 4, 4, 5] }),
          layer('GlobalAveragePooling2D', { name: 'gap' }),
        ],
      },
    };
    const topology = {
      class_name: 'Functional',
      config: {
        name: 'outer',
        layers: [
          layer('InputLayer', { name: 'image', batch_input_shape: [null, 4, 4, 3] }, []),
          { ...base, inbound_nodes: [[['image', 0, 0, {}]]] },
          { ...head, inbound_nodes: [[['base', 1, 0, {}]]] },
          layer('GlobalMaxPooling2D', { name: 'side' }, [[['base', 1, 1, {}]]]),
          layer('Concatenate', { name: 'cat' }, [
            [
              ['head', 1, 0, {}],
              ['side', 0, 0, {}],
            ],
          ]),
        ],
        input_layers: [['image', 0, 0]],
        output_layers: [['cat', 0, 0]],
      },
    };
    // Two layers are named 'conv': the manifest names them by scope.
    const ir = buildModelIR(
      artifacts(topology, [
        w('base/conv/kernel', [1, 1, 3, 5]),
        w('base/conv/bias', [5]),
        w('head/conv/kernel', [1, 1, 5, 2]),
        w('head/conv/bias', [2]),
      ]),
    );
    expect(ir.layers.map((l) => [l.index, l.name, l.inbound, l.scope ?? '', l.localName ?? ''])).toEqual([
      [0, 'image', [], '', ''],
      [1, 'base/conv', ['image'], 'base', 'conv'],
      [2, 'base/relu', ['base/conv'], 'base', 'relu'],
      [3, 'head/conv', ['base/relu'], 'head', 'conv'],
      [4, 'head/gap', ['head/conv'], 'head', 'gap'],
      [5, 'side', ['base/conv'], '', ''],
      [6, 'cat', ['head/gap', 'side'], '', ''],
    ]);
    expect(ir.layers[3]!.weights.map((r) => r.weightIndex)).toEqual([2, 3]);
    expect(ir.submodels).toEqual([
      { name: 'base', className: 'Functional' },
      { name: 'head', className: 'Sequential' },
    ]);
    expect(ir.nestedInputs).toEqual([
      { config: 'base/base_in', source: 'image' },
      { config: 'head/conv', source: 'base/relu' },
    ]);
    expect(ir.outputs).toEqual(['cat']);
  });

  it('reads a Sequential whose first layer is a nested model (its InputLayer is the model input), with unscoped tfjs weight names', () => {
    const base = inner(
      'base',
      [
        layer('InputLayer', { name: 'base_in', batch_input_shape: [null, 4, 4, 3] }, []),
        layer('Conv2D', { name: 'conv1', filters: 5, kernel_size: 1 }, [[['base_in', 0, 0, {}]]]),
      ],
      ['base_in'],
      ['conv1'],
    );
    const ir = buildModelIR(
      artifacts(
        { class_name: 'Sequential', config: { name: 's', layers: [base, layer('Flatten', { name: 'f' })] } },
        [w('conv1/kernel', [1, 1, 3, 5]), w('conv1/bias', [5])],
      ),
    );
    expect(ir.inputs).toEqual(['base/base_in']);
    expect(ir.inputShape).toEqual([null, 4, 4, 3]);
    expect(ir.layers.map((l) => [l.name, l.inbound, l.outputShape])).toEqual([
      ['base/base_in', [], [null, 4, 4, 3]],
      ['base/conv1', ['base/base_in'], [null, 4, 4, 5]],
      ['f', ['base/conv1'], [null, 80]],
    ]);
  });
});
