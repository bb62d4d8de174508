import { describe, expect, it } from 'vitest';
import type { KerasModelTopology } from '../ir/keras-json';
import {
  kerasLayerOrder,
  kerasModelTree,
  kerasWeightRoles,
  normalizeKerasConfig,
  portableLayerConfig,
  toSnakeCase,
} from './keras-config';

describe('toSnakeCase (Keras naming.to_snake_case, which names .keras weight groups)', () => {
  it.each([
    ['Conv2D', 'conv2d'],
    ['BatchNormalization', 'batch_normalization'],
    ['DepthwiseConv2D', 'depthwise_conv2d'],
    ['SeparableConv2D', 'separable_conv2d'],
    ['Conv2DTranspose', 'conv2d_transpose'],
    ['GlobalAveragePooling2D', 'global_average_pooling2d'],
    ['ReLU', 're_lu'],
    ['PReLU', 'p_re_lu'],
    ['InputLayer', 'input_layer'],
    ['Functional', 'functional'],
    ['Dense', 'dense'],
  ])('%s -> %s', (cls, snake) => expect(toSnakeCase(cls)).toBe(snake));
});

describe('kerasWeightRoles', () => {
  it('gives each class its variables in creation order', () => {
    expect(kerasWeightRoles('Conv2D', { use_bias: false })).toEqual(['kernel']);
    expect(kerasWeightRoles('Dense', {})).toEqual(['kernel', 'bias']);
    expect(kerasWeightRoles('DepthwiseConv2D', {})).toEqual(['depthwise_kernel', 'bias']);
    expect(kerasWeightRoles('SeparableConv2D', {})).toEqual(['depthwise_kernel', 'pointwise_kernel', 'bias']);
    expect(kerasWeightRoles('BatchNormalization', {})).toEqual([
      'gamma',
      'beta',
      'moving_mean',
      'moving_variance',
    ]);
    expect(kerasWeightRoles('BatchNormalization', { scale: false })).toEqual([
      'beta',
      'moving_mean',
      'moving_variance',
    ]);
    expect(kerasWeightRoles('PReLU', {})).toEqual(['alpha']);
    expect(kerasWeightRoles('Lambda', {})).toBeUndefined();
  });
});

const policy = {
  module: 'keras',
  class_name: 'DTypePolicy',
  config: { name: 'float32' },
  registered_name: null,
};
const tensor = (name: string, node = 0) => ({
  class_name: '__keras_tensor__',
  config: { shape: [null, 4], dtype: 'float32', keras_history: [name, node, 0] },
});

describe('normalizeKerasConfig: Keras 3 -> the Keras 2 / TF.js form artifacts hold', () => {
  const keras3 = {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: 'net',
      trainable: true,
      layers: [
        {
          module: 'keras.layers',
          class_name: 'InputLayer',
          config: {
            batch_shape: [null, 4],
            dtype: 'float32',
            sparse: false,
            ragged: false,
            name: 'x',
            optional: false,
          },
          registered_name: null,
          name: 'x',
          inbound_nodes: [],
        },
        {
          module: 'keras.layers',
          class_name: 'Dense',
          config: {
            name: 'd',
            trainable: true,
            dtype: policy,
            units: 4,
            kernel_initializer: {
              module: 'keras.initializers',
              class_name: 'GlorotUniform',
              config: { seed: null },
              registered_name: null,
            },
            target: { class_name: '__tuple__', config: { value: [1, 2] } },
          },
          registered_name: null,
          build_config: { input_shape: [null, 4] },
          name: 'd',
          inbound_nodes: [{ args: [tensor('x')], kwargs: { training: false } }],
        },
        {
          module: 'keras',
          class_name: 'Sequential',
          config: {
            name: 'seq',
            trainable: true,
            dtype: policy,
            layers: [
              {
                module: 'keras.layers',
                class_name: 'InputLayer',
                config: { batch_shape: [null, 4], dtype: 'float32', sparse: false, name: 'seq_in' },
                registered_name: null,
              },
              {
                module: 'keras.layers',
                class_name: 'LeakyReLU',
                config: { name: 'lr', trainable: true, dtype: policy, negative_slope: 0.2 },
                registered_name: null,
              },
            ],
          },
          registered_name: null,
          name: 'seq',
          inbound_nodes: [{ args: [tensor('d')], kwargs: {} }],
        },
        {
          module: 'keras.layers',
          class_name: 'Add',
          config: { name: 'add', trainable: true, dtype: policy },
          registered_name: null,
          name: 'add',
          inbound_nodes: [{ args: [[tensor('d'), tensor('seq', 0)]], kwargs: {} }],
        },
      ],
      input_layers: ['x', 0, 0],
      output_layers: [['add', 0, 0]],
    },
    registered_name: 'Functional',
    build_config: { input_shape: null },
  };

  it('drops module/registered_name/build_config, unwraps dtype policies and tuples, rewrites nodes and endpoints', () => {
    expect(normalizeKerasConfig(keras3, 'config.json')).toEqual({
      class_name: 'Functional',
      config: {
        name: 'net',
        trainable: true,
        layers: [
          {
            class_name: 'InputLayer',
            config: {
              batch_input_shape: [null, 4],
              dtype: 'float32',
              sparse: false,
              ragged: false,
              name: 'x',
            },
            name: 'x',
            inbound_nodes: [],
          },
          {
            class_name: 'Dense',
            config: {
              name: 'd',
              trainable: true,
              dtype: 'float32',
              units: 4,
              kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
              target: [1, 2],
            },
            name: 'd',
            inbound_nodes: [[['x', 0, 0, { training: false }]]],
          },
          {
            class_name: 'Sequential',
            config: {
              name: 'seq',
              trainable: true,
              layers: [
                {
                  class_name: 'InputLayer',
                  config: { batch_input_shape: [null, 4], dtype: 'float32', sparse: false, name: 'seq_in' },
                },
                {
                  class_name: 'LeakyReLU',
                  config: { name: 'lr', trainable: true, dtype: 'float32', alpha: 0.2 },
                },
              ],
            },
            name: 'seq',
            inbound_nodes: [[['d', 0, 0, {}]]],
          },
          {
            class_name: 'Add',
            config: { name: 'add', trainable: true, dtype: 'float32' },
            name: 'add',
            // A nested Sequential's call is node 0 in Keras 3, node 1 in Keras 2 and TF.js.
            inbound_nodes: [
              [
                ['d', 0, 0, {}],
                ['seq', 1, 0, {}],
              ],
            ],
          },
        ],
        input_layers: [['x', 0, 0]],
        output_layers: [['add', 0, 0]],
      },
    });
  });

  it('leaves a Keras 2 config as it is, and unwraps the {model_config} wrapper', () => {
    const k2: KerasModelTopology = {
      class_name: 'Sequential',
      config: {
        name: 's',
        layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 3] } }],
      },
    };
    expect(normalizeKerasConfig(k2, 'a.h5')).toEqual(k2);
    expect(normalizeKerasConfig({ keras_version: '2.4.0', model_config: k2 }, 'a.h5')).toEqual(k2);
  });

  it('BAD_TOPOLOGY for a subclassed model', () => {
    expect(() => normalizeKerasConfig({ class_name: 'MyNet', config: {} }, 'config.json')).toThrow(
      /'config.json' does not hold a Keras Sequential or Functional model config \(found class "MyNet"\)/,
    );
  });
});

function functional(layers: [string, string, string[]][], outputs: string[]): KerasModelTopology {
  return {
    class_name: 'Functional',
    config: {
      name: 'f',
      layers: layers.map(([name, cls, inbound]) => ({
        class_name: cls,
        name,
        config: cls === 'InputLayer' ? { name, batch_input_shape: [null, 4] } : { name },
        inbound_nodes: inbound.length === 0 ? [] : [inbound.map((n) => [n, 0, 0, {}])],
      })),
      input_layers: [['in', 0, 0]],
      output_layers: outputs.map((o) => [o, 0, 0]),
    },
  };
}

describe("kerasLayerOrder: Keras's map_graph order", () => {
  it('sorts by depth from the outputs, ties by first visit, whatever order the config lists', () => {
    const t = functional(
      [
        ['in', 'InputLayer', []],
        ['b', 'Dense', ['in']],
        ['a', 'Dense', ['in']],
        ['add', 'Add', ['a', 'b']],
      ],
      ['add'],
    );
    expect(kerasLayerOrder(kerasModelTree(t)).map((l) => l.local)).toEqual(['in', 'a', 'b', 'add']);
  });

  it('a skip connection: the longest path sets the depth', () => {
    const t = functional(
      [
        ['in', 'InputLayer', []],
        ['add', 'Add', ['b', 'in']],
        ['b', 'Dense', ['a']],
        ['a', 'Dense', ['in']],
      ],
      ['add'],
    );
    expect(kerasLayerOrder(kerasModelTree(t)).map((l) => l.local)).toEqual(['in', 'a', 'b', 'add']);
  });

  it("leaves out a Sequential's leading InputLayer, as Sequential.layers does", () => {
    const t: KerasModelTopology = {
      class_name: 'Sequential',
      config: {
        name: 's',
        layers: [
          { class_name: 'InputLayer', config: { name: 'i', batch_input_shape: [null, 2] } },
          { class_name: 'Dense', config: { name: 'd', units: 1 } },
        ],
      },
    };
    expect(kerasLayerOrder(kerasModelTree(t)).map((l) => l.local)).toEqual(['d']);
  });
});

describe('portableLayerConfig: arguments both Keras 2 and Keras 3 accept', () => {
  it('drops what Keras 3 refuses and normalises what it reads differently', () => {
    const init = {
      class_name: 'VarianceScaling',
      config: { scale: 1, mode: 'fanAvg', distribution: 'normal', seed: null, dtype: 'float32' },
    };
    expect(
      portableLayerConfig('DepthwiseConv2D', {
        name: 'dw',
        trainable: false,
        dtype: 'float32',
        kernel_size: [3, 3],
        groups: 1,
        depthwise_initializer: init,
        batch_input_shape: [null, 8, 8, 3],
      }),
    ).toEqual({
      name: 'dw',
      trainable: false,
      dtype: 'float32',
      kernel_size: [3, 3],
      depthwise_initializer: {
        class_name: 'VarianceScaling',
        config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null },
      },
      batch_input_shape: [null, 8, 8, 3],
    });
    expect(
      portableLayerConfig('BatchNormalization', { name: 'bn', axis: [3], fused: true, synchronized: false }),
    ).toEqual({
      name: 'bn',
      trainable: true,
      dtype: 'float32',
      axis: 3,
    });
    expect(portableLayerConfig('MyLayer', { name: 'm', anything: 1 })).toEqual({
      name: 'm',
      trainable: true,
      dtype: 'float32',
      anything: 1,
    });
  });
});
