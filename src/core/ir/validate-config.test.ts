import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../io/errors';
import { validateModelConfig } from './validate-config';
import { buildModelIR } from './build-ir';
import type { KerasModelTopology } from './keras-json';

type Json = Record<string, unknown>;

/** `in -> c1 -> r -> c2 -> add(r, c2) -> out`, Keras 2 form with top-level names. */
function functional(): Json {
  const node = (...names: string[]) => [names.map((n) => [n, 0, 0, {}])];
  const layer = (class_name: string, config: Json, inbound: unknown[]) => ({
    class_name,
    name: config['name'],
    config,
    inbound_nodes: inbound,
  });
  return {
    class_name: 'Functional',
    config: {
      name: 'f',
      layers: [
        layer('InputLayer', { name: 'in', batch_input_shape: [null, 6, 6, 1] }, []),
        layer('Conv2D', { name: 'c1', filters: 2, kernel_size: [3, 3], padding: 'same' }, node('in')),
        layer('ReLU', { name: 'r' }, node('c1')),
        layer('Conv2D', { name: 'c2', filters: 2, kernel_size: [3, 3], padding: 'same' }, node('r')),
        layer('Add', { name: 'add' }, node('r', 'c2')),
        layer('Dense', { name: 'out', units: 3, activation: 'softmax' }, node('add')),
      ],
      input_layers: [['in', 0, 0]],
      output_layers: [['out', 0, 0]],
    },
  };
}

const layers = (t: Json) => (t['config'] as { layers: Json[] }).layers;
const cfg = (t: Json, i: number) => layers(t)[i]!['config'] as Json;

function errorOf(t: unknown): ModelLoadError {
  try {
    validateModelConfig(t);
  } catch (e) {
    if (e instanceof ModelLoadError) return e;
    throw e;
  }
  throw new Error('expected a ModelLoadError');
}

/** [what, mutation, code, message pattern]: every check of validate-config.ts, one broken thing each. */
const CASES: [string, (t: Json) => void, string, RegExp][] = [
  [
    'null entry',
    (t) => (layers(t)[2] = null as unknown as Json),
    'BAD_CONFIG',
    /^Layer #2 is null, not a \{class_name, config\} object\.$/,
  ],
  [
    'class_name missing',
    (t) => delete layers(t)[2]!['class_name'],
    'BAD_CONFIG',
    /^Layer #2 \('r'\) has class_name missing/,
  ],
  [
    'class_name a number',
    (t) => (layers(t)[2]!['class_name'] = 42),
    'BAD_CONFIG',
    /class_name 42 \(a number\)/,
  ],
  [
    'config missing',
    (t) => delete layers(t)[2]!['config'],
    'BAD_CONFIG',
    /^Layer #2 \('r'\) \(ReLU\) has config missing, not an object\.$/,
  ],
  ['config a string', (t) => (layers(t)[2]!['config'] = ''), 'BAD_CONFIG', /has config "", not an object/],
  [
    'name missing',
    (t) => {
      delete cfg(t, 2)['name'];
      delete layers(t)[2]!['name'];
    },
    'BAD_CONFIG',
    /^Layer #2 \(ReLU\) has no name/,
  ],
  [
    'top-level name differs',
    (t) => (layers(t)[2]!['name'] = 'r2'),
    'BAD_CONFIG',
    /^Layer 'r' \(ReLU\) is called "r2" at the top of its entry but 'r' in its config/,
  ],
  ['top-level name null', (t) => (layers(t)[2]!['name'] = null), 'BAD_CONFIG', /is called null at the top/],
  [
    'duplicate names',
    (t) => {
      cfg(t, 3)['name'] = 'c1';
      layers(t)[3]!['name'] = 'c1';
    },
    'BAD_TOPOLOGY',
    /^Two layers are named 'c1'\.$/,
  ],
  [
    'unknown inbound layer',
    (t) => (layers(t)[3]!['inbound_nodes'] = [[['ghost', 0, 0, {}]]]),
    'BAD_TOPOLOGY',
    /^Layer 'c2' takes its input from 'ghost', which is not in the model\.$/,
  ],
  [
    'node index out of range',
    (t) => (layers(t)[3]!['inbound_nodes'] = [[['r', 1, 0, {}]]]),
    'BAD_TOPOLOGY',
    /^Layer 'c2' refers to call 1 of 'r', which is called once\.$/,
  ],
  [
    'tensor index out of range',
    (t) => (layers(t)[3]!['inbound_nodes'] = [[['r', 0, 1, {}]]]),
    'BAD_TOPOLOGY',
    /reads output 1 of 'r', which has one output/,
  ],
  ['node not a list', (t) => (layers(t)[3]!['inbound_nodes'] = ['r']), 'BAD_CONFIG', /inbound node 0 = "r"/],
  [
    'index a string',
    (t) => (layers(t)[3]!['inbound_nodes'] = [[['r', '0', 0]]]),
    'BAD_CONFIG',
    /node index "0", not an integer >= 0/,
  ],
  [
    'cycle',
    (t) => (layers(t)[2]!['inbound_nodes'] = [[['add', 0, 0, {}]]]),
    'CYCLE',
    /^The model has a cycle: (\w+ -> )+\w+\.$/,
  ],
  ['self loop', (t) => (layers(t)[3]!['inbound_nodes'] = [[['c2', 0, 0, {}]]]), 'CYCLE', /cycle: c2 -> c2/],
  [
    'output unknown',
    (t) => ((t['config'] as Json)['output_layers'] = [['ghost', 0, 0]]),
    'BAD_TOPOLOGY',
    /output_layers name 'ghost', which is not a layer/,
  ],
  [
    'input not an InputLayer',
    (t) => ((t['config'] as Json)['input_layers'] = [['c1', 0, 0]]),
    'BAD_TOPOLOGY',
    /input_layers name 'c1', a Conv2D, not an InputLayer/,
  ],
  [
    'dangling layer',
    (t) =>
      layers(t).push({
        class_name: 'ReLU',
        name: 'x',
        config: { name: 'x' },
        inbound_nodes: [[['c1', 0, 0, {}]]],
      }),
    'BAD_TOPOLOGY',
    /^Layer 'x' \(ReLU\) does not lead to any output of the model\.$/,
  ],
  [
    'layer never called',
    (t) => (layers(t)[3]!['inbound_nodes'] = []),
    'BAD_TOPOLOGY',
    /^Layer 'add' refers to call 0 of 'c2', which is called 0 times\.$/,
  ],
  ['0 filters', (t) => (cfg(t, 1)['filters'] = 0), 'BAD_WEIGHTS', /^Layer 'c1' \(Conv2D\) has 0 filters/],
  ['0 units', (t) => (cfg(t, 5)['units'] = 0), 'BAD_WEIGHTS', /^Layer 'out' \(Dense\) has 0 units/],
  [
    'filters negative',
    (t) => (cfg(t, 1)['filters'] = -1),
    'BAD_CONFIG',
    /filters = -1 \(a number\); expected a positive integer/,
  ],
  [
    'unknown initializer',
    (t) => (cfg(t, 1)['kernel_initializer'] = { class_name: 'Nope', config: {} }),
    'BAD_CONFIG',
    /kernel_initializer "Nope", which is not a initializer TensorFlow.js knows/,
  ],
  [
    'initializer without config',
    (t) => (cfg(t, 1)['bias_initializer'] = { class_name: 'Zeros' }),
    'BAD_CONFIG',
    /bias_initializer 'Zeros' whose config is missing/,
  ],
  [
    'regularizer a number',
    (t) => (cfg(t, 1)['kernel_regularizer'] = 0.1),
    'BAD_CONFIG',
    /kernel_regularizer = 0.1 \(a number\)/,
  ],
  [
    'unknown constraint',
    (t) => (cfg(t, 1)['kernel_constraint'] = 'clip'),
    'BAD_CONFIG',
    /kernel_constraint "clip"/,
  ],
  [
    'unknown activation',
    (t) => (cfg(t, 5)['activation'] = 'foo'),
    'BAD_CONFIG',
    /^Layer 'out' \(Dense\) has activation "foo"/,
  ],
  [
    'use_bias a string',
    (t) => (cfg(t, 1)['use_bias'] = 'false'),
    'BAD_CONFIG',
    /use_bias = "false"; expected true or false/,
  ],
  [
    '0-sized input',
    (t) => (cfg(t, 0)['batch_input_shape'] = [null, 0, 6, 1]),
    'BAD_CONFIG',
    /batch_input_shape = an array \(\[null,0,6,1\]\)/,
  ],
  [
    'InputLayer without shape',
    (t) => delete cfg(t, 0)['batch_input_shape'],
    'BAD_CONFIG',
    /^InputLayer 'in' does not say its shape/,
  ],
  [
    'layer class is an initializer',
    (t) => (layers(t)[2]!['class_name'] = 'VarianceScaling'),
    'BAD_CONFIG',
    /has class 'VarianceScaling', which is an initializer, not a layer/,
  ],
  [
    'model class without layers',
    (t) => (layers(t)[2]!['class_name'] = 'Sequential'),
    'BAD_CONFIG',
    /is a Sequential but its config lists no layers/,
  ],
];

describe('validateModelConfig: what tfjs fromConfig relies on', () => {
  it('accepts the valid model (and buildModelIR reads it)', () => {
    expect(() => validateModelConfig(functional())).not.toThrow();
    expect(() => validateModelConfig({ model_config: functional() })).not.toThrow();
  });

  for (const [what, mutate, code, message] of CASES) {
    it(`${code}: ${what}`, () => {
      const t = functional();
      mutate(t);
      const e = errorOf(t);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
      // buildModelIR (every loader's last step) refuses it the same way, before any weight is looked at.
      const viaIR = (() => {
        try {
          buildModelIR({ modelTopology: t as unknown as KerasModelTopology, weights: [] });
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(viaIR).toBeInstanceOf(ModelLoadError);
      expect((viaIR as ModelLoadError).code).toBe(code);
    });
  }

  it('nested models: checked recursively, named by scope, depth limited', () => {
    const outer = functional();
    const inner = functional();
    cfg(inner, 1)['filters'] = 0;
    (inner['config'] as Json)['name'] = 'base';
    layers(outer).splice(2, 0, {
      class_name: 'Functional',
      name: 'base',
      config: inner['config'],
      inbound_nodes: [[['c1', 0, 0, {}]]],
    });
    layers(outer)[3]!['inbound_nodes'] = [[['base', 1, 0, {}]]];
    const e = errorOf(outer);
    expect(e.code).toBe('BAD_WEIGHTS');
    expect(e.message).toMatch(/^Layer 'base\/c1' \(Conv2D\) has 0 filters/);
    let deep: Json = {
      class_name: 'Sequential',
      config: {
        name: 'm',
        layers: [{ class_name: 'Flatten', config: { name: 'f', batch_input_shape: [null, 2] } }],
      },
    };
    for (let i = 0; i < 20; i++)
      deep = { class_name: 'Sequential', config: { name: `m${i}`, layers: [deep] } };
    expect(errorOf(deep).code).toBe('LIMIT_EXCEEDED');
  });

  it('Sequential entries may omit the top-level name, but not contradict it', () => {
    const seq = {
      class_name: 'Sequential',
      config: {
        name: 's',
        layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 3] } }],
      },
    };
    expect(() => validateModelConfig(seq)).not.toThrow();
    (seq.config.layers[0] as Json)['name'] = 'e';
    expect(errorOf(seq).code).toBe('BAD_CONFIG');
  });
});
