/**
 * `npx tsx scripts/make-bad-config-files.ts`: writes test/bad-files/config/ (committed): small broken
 * models whose config or weights tfjs would choke on (a raw TypeError, an endless loop in
 * Container.fromConfig, a leaked half-built model) or that were once accepted silently, each with the
 * ModelLoadError code the loader must give (see src/core/testing/bad-files.ts for the format).
 *
 * Every case is a tiny hand-made model (a few hundred weights) with one thing broken: a Sequential
 * `conv1 (2 filters 3x3 on 6x6x1) -> flatten -> out (3)` shaped like the bundled sample, or a
 * Functional `in -> c1 -> r -> c2 -> add(r, c2) -> gap -> out` with a residual. A few are .h5 or
 * .keras files, where the Keras readers met the broken config first.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { format } from 'prettier';
import type { ModelArtifactsData, WeightTensor } from '../src/core/ir/artifacts';
import { writeKerasV3 } from '../src/core/io/keras-v3';
import { writeHdf5, type H5WriteGroup } from '../src/core/io/hdf5';

const DIR = join(import.meta.dirname, '..', 'test', 'bad-files', 'config');

type Json = Record<string, unknown>;

function weight(
  name: string,
  shape: number[],
  fill = (i: number) => ((i * 37) % 11) / 10 - 0.5,
): WeightTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, shape, dtype: 'float32', values: Float32Array.from({ length: n }, (_, i) => fill(i)) };
}

const glorot = { class_name: 'GlorotUniform', config: { seed: null } };
const zeros = { class_name: 'Zeros', config: {} };

function conv(name: string, filters: number, extra: Json = {}): Json {
  return {
    name,
    filters,
    kernel_size: [3, 3],
    strides: [1, 1],
    padding: 'valid',
    activation: 'linear',
    use_bias: true,
    kernel_initializer: glorot,
    bias_initializer: zeros,
    ...extra,
  };
}

/** Sequential `conv1 (2) -> flatten -> out (3)` on 6x6x1, like the bundled sample but 119 weights. */
function sequential(): { topology: Json; weights: WeightTensor[] } {
  return {
    topology: {
      class_name: 'Sequential',
      config: {
        name: 'tiny',
        layers: [
          { class_name: 'Conv2D', config: conv('conv1', 2, { batch_input_shape: [null, 6, 6, 1] }) },
          { class_name: 'Flatten', config: { name: 'flatten' } },
          {
            class_name: 'Dense',
            config: {
              name: 'out',
              units: 3,
              activation: 'softmax',
              use_bias: true,
              kernel_initializer: glorot,
              bias_initializer: zeros,
            },
          },
        ],
      },
      keras_version: '2.13.1',
      backend: 'tensorflow',
    },
    weights: [
      weight('conv1/kernel', [3, 3, 1, 2]),
      weight('conv1/bias', [2]),
      weight('out/kernel', [32, 3]),
      weight('out/bias', [3]),
    ],
  };
}

/** Functional `in -> c1 -> r -> c2 (same) -> add(r, c2) -> gap -> out (3)` on 6x6x1. */
function functional(): { topology: Json; weights: WeightTensor[] } {
  const node = (...names: string[]) => [names.map((n) => [n, 0, 0, {}])];
  const layer = (class_name: string, config: Json, inbound: unknown[]) => ({
    class_name,
    name: config['name'],
    config,
    inbound_nodes: inbound,
  });
  return {
    topology: {
      class_name: 'Functional',
      config: {
        name: 'tiny_res',
        layers: [
          layer('InputLayer', { name: 'in', batch_input_shape: [null, 6, 6, 1], dtype: 'float32' }, []),
          layer('Conv2D', conv('c1', 2, { padding: 'same' }), node('in')),
          layer('ReLU', { name: 'r' }, node('c1')),
          layer('Conv2D', conv('c2', 2, { padding: 'same' }), node('r')),
          layer('Add', { name: 'add' }, node('r', 'c2')),
          layer('GlobalAveragePooling2D', { name: 'gap' }, node('add')),
          layer(
            'Dense',
            {
              name: 'out',
              units: 3,
              activation: 'softmax',
              kernel_initializer: glorot,
              bias_initializer: zeros,
            },
            node('gap'),
          ),
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['out', 0, 0]],
      },
      keras_version: '2.13.1',
      backend: 'tensorflow',
    },
    weights: [
      weight('c1/kernel', [3, 3, 1, 2]),
      weight('c1/bias', [2]),
      weight('c2/kernel', [3, 3, 2, 2]),
      weight('c2/bias', [2]),
      weight('out/kernel', [2, 3]),
      weight('out/bias', [3]),
    ],
  };
}

interface Case {
  id: string;
  kind: 'model';
  input: string[];
  code: string | null;
  warning?: string;
  why: string;
}
const cases: Case[] = [];

const layersOf = (t: Json) => (t['config'] as { layers: Json[] }).layers;
const configOf = (t: Json, i: number) => layersOf(t)[i]!['config'] as Json;

/** Writes a TF.js model.json + weights.bin into `<id>/` (the manifest declares each weight as given). */
async function tfjsCase(
  id: string,
  code: string | null,
  why: string,
  make: (m: { topology: Json; weights: WeightTensor[] }) => void,
  base: () => { topology: Json; weights: WeightTensor[] } = sequential,
  extra: { warning?: string; manifest?: (entries: Json[]) => void } = {},
): Promise<void> {
  const m = base();
  make(m);
  const dir = join(DIR, id);
  mkdirSync(dir, { recursive: true });
  const entries: Json[] = m.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype }));
  extra.manifest?.(entries);
  const bytes = new Uint8Array(m.weights.reduce((n, w) => n + w.values.byteLength, 0));
  let at = 0;
  for (const w of m.weights) {
    bytes.set(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength), at);
    at += w.values.byteLength;
  }
  const json = {
    format: 'layers-model',
    generatedBy: 'make-bad-config-files',
    convertedBy: null,
    modelTopology: m.topology,
    weightsManifest: [{ paths: ['weights.bin'], weights: entries }],
  };
  writeFileSync(join(dir, 'model.json'), await format(JSON.stringify(json), { parser: 'json' }));
  writeFileSync(join(dir, 'weights.bin'), bytes);
  cases.push({
    id: `config-${id}`,
    kind: 'model',
    input: [id],
    code,
    ...(extra.warning ? { warning: extra.warning } : {}),
    why,
  });
}

/** A Keras 2 .h5 whose root `model_config` attribute is `config` (the readers parse it before any weight). */
async function h5Case(id: string, code: string, why: string, config: unknown): Promise<void> {
  const root: H5WriteGroup = {
    kind: 'group',
    attrs: [
      ['backend', { kind: 'string', value: 'tensorflow' }],
      ['keras_version', { kind: 'string', value: '2.13.1' }],
      ['model_config', { kind: 'string', value: JSON.stringify(config) }],
    ],
    children: [
      [
        'model_weights',
        { kind: 'group', attrs: [['backend', { kind: 'string', value: 'tensorflow' }]], children: [] },
      ],
    ],
  };
  writeFileSync(join(DIR, `${id}.h5`), await writeHdf5(root));
  cases.push({ id: `config-${id}`, kind: 'model', input: [`${id}.h5`], code, why });
}

/** The tiny Sequential as a Keras 3 .keras archive with `config.json` replaced by `edit(config)`. */
async function kerasCase(id: string, code: string, why: string, edit: (config: Json) => void): Promise<void> {
  const m = sequential();
  const a: ModelArtifactsData = {
    modelTopology: m.topology as unknown as ModelArtifactsData['modelTopology'],
    weights: m.weights,
  };
  const entries = unzipSync(await writeKerasV3(a));
  const config = JSON.parse(new TextDecoder().decode(entries['config.json'])) as Json;
  edit(config);
  entries['config.json'] = strToU8(JSON.stringify(config));
  writeFileSync(join(DIR, `${id}.keras`), zipSync(entries, { level: 6 }));
  cases.push({ id: `config-${id}`, kind: 'model', input: [`${id}.keras`], code, why });
}

async function main(): Promise<void> {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });

  // --- Raw TypeErrors from keras-config.ts / tfjs, now BAD_CONFIG naming the layer.
  await tfjsCase(
    'layer-null',
    'BAD_CONFIG',
    'a null layer entry once gave "Cannot read properties of null (reading \'config\')"',
    ({ topology }) => {
      layersOf(topology)[1] = null as unknown as Json;
    },
  );
  await tfjsCase(
    'class-name-missing',
    'BAD_CONFIG',
    'a layer without class_name once gave "Cannot read properties of undefined (reading \'replace\')"',
    ({ topology }) => {
      delete layersOf(topology)[1]!['class_name'];
    },
  );
  await tfjsCase(
    'class-name-number',
    'BAD_CONFIG',
    'a class_name that is a number, not a string',
    ({ topology }) => {
      layersOf(topology)[1]!['class_name'] = 42;
    },
  );
  await tfjsCase(
    'config-missing',
    'BAD_CONFIG',
    'a layer without config once gave "Cannot read properties of undefined (reading \'use_bias\')"',
    ({ topology }) => {
      delete layersOf(topology)[0]!['config'];
    },
  );
  await tfjsCase(
    'config-empty-string',
    'BAD_CONFIG',
    "a config that is '' leaked tfjs's \"Cannot create property 'customObjects' on string ''\"",
    ({ topology }) => {
      layersOf(topology)[1]!['config'] = '';
    },
  );
  await tfjsCase('name-missing', 'BAD_CONFIG', 'a layer config without a name', ({ topology }) => {
    delete configOf(topology, 1)['name'];
  });
  await h5Case(
    'h5-layer-null',
    'BAD_CONFIG',
    'an .h5 model_config with a null layer once gave "Cannot read properties of null (reading \'config\')"',
    {
      class_name: 'Sequential',
      config: {
        name: 'tiny',
        layers: [
          { class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 4] } },
          null,
        ],
      },
    },
  );
  await h5Case(
    'h5-class-name-missing',
    'BAD_CONFIG',
    'an .h5 layer without class_name once gave "Cannot read properties of undefined (reading \'replace\')"',
    {
      class_name: 'Sequential',
      config: { name: 'tiny', layers: [{ config: { name: 'd', units: 2, batch_input_shape: [null, 4] } }] },
    },
  );
  await h5Case(
    'h5-config-missing',
    'BAD_CONFIG',
    'an .h5 layer without config once gave "Cannot read properties of undefined (reading \'use_bias\')"',
    {
      class_name: 'Sequential',
      config: { name: 'tiny', layers: [{ class_name: 'Dense', name: 'd' }] },
    },
  );
  await kerasCase('keras-layer-null', 'BAD_CONFIG', 'a .keras config.json with a null layer entry', (c) => {
    ((c['config'] as Json)['layers'] as unknown[])[1] = null;
  });
  await kerasCase(
    'keras-class-name-missing',
    'BAD_CONFIG',
    'a .keras config.json layer without class_name',
    (c) => {
      delete ((c['config'] as Json)['layers'] as Json[])[1]!['class_name'];
    },
  );

  // --- The hang: Container.fromConfig re-queued these nodes forever.
  await tfjsCase(
    'top-name-mismatch',
    'BAD_CONFIG',
    "a layer whose top-level name differs from config.name made tfjs's Container.fromConfig loop forever",
    ({ topology }) => {
      layersOf(topology)[2]!['name'] = 'r_renamed';
    },
    functional,
  );
  await tfjsCase(
    'top-name-null',
    'BAD_CONFIG',
    'a null top-level name (tfjs files the layer under "null" and never finds it: endless loop)',
    ({ topology }) => {
      layersOf(topology)[3]!['name'] = null;
    },
    functional,
  );
  await tfjsCase(
    'inbound-unknown-layer',
    'BAD_TOPOLOGY',
    'an inbound node naming a layer that is not there (endless loop in tfjs)',
    ({ topology }) => {
      layersOf(topology)[3]!['inbound_nodes'] = [[['ghost', 0, 0, {}]]];
    },
    functional,
  );
  await tfjsCase(
    'inbound-node-index',
    'BAD_TOPOLOGY',
    'an inbound node naming call 3 of a layer called once (endless loop in tfjs)',
    ({ topology }) => {
      layersOf(topology)[3]!['inbound_nodes'] = [[['r', 3, 0, {}]]];
    },
    functional,
  );
  await tfjsCase(
    'inbound-tensor-index',
    'BAD_TOPOLOGY',
    'an inbound node reading output 2 of a single-output layer',
    ({ topology }) => {
      layersOf(topology)[3]!['inbound_nodes'] = [[['r', 0, 2, {}]]];
    },
    functional,
  );
  await tfjsCase(
    'inbound-node-string',
    'BAD_CONFIG',
    'an inbound node that is a string, not a list of references',
    ({ topology }) => {
      layersOf(topology)[3]!['inbound_nodes'] = ['r'];
    },
    functional,
  );
  await tfjsCase(
    'inbound-index-string',
    'BAD_CONFIG',
    "an inbound reference with node index '0' (a string)",
    ({ topology }) => {
      layersOf(topology)[3]!['inbound_nodes'] = [[['r', '0', 0, {}]]];
    },
    functional,
  );
  await tfjsCase(
    'cycle',
    'CYCLE',
    'r -> c2 -> add -> r: a cycle (endless loop in tfjs)',
    ({ topology }) => {
      layersOf(topology)[2]!['inbound_nodes'] = [[['add', 0, 0, {}]]];
    },
    functional,
  );
  await tfjsCase(
    'self-loop',
    'CYCLE',
    'a layer fed by itself',
    ({ topology }) => {
      layersOf(topology)[3]!['inbound_nodes'] = [[['c2', 0, 0, {}]]];
    },
    functional,
  );
  await tfjsCase(
    'duplicate-name',
    'BAD_TOPOLOGY',
    'two layers named c1',
    ({ topology }) => {
      configOf(topology, 3)['name'] = 'c1';
      layersOf(topology)[3]!['name'] = 'c1';
    },
    functional,
  );
  await tfjsCase(
    'output-unknown',
    'BAD_TOPOLOGY',
    'output_layers naming a layer that is not there',
    ({ topology }) => {
      (topology['config'] as Json)['output_layers'] = [['ghost', 0, 0]];
    },
    functional,
  );
  await tfjsCase(
    'input-not-inputlayer',
    'BAD_TOPOLOGY',
    'input_layers naming a Conv2D',
    ({ topology }) => {
      (topology['config'] as Json)['input_layers'] = [['c1', 0, 0]];
    },
    functional,
  );
  await tfjsCase(
    'dangling-layer',
    'BAD_TOPOLOGY',
    'a layer no output depends on (tfjs drops it and its weights have no target)',
    ({ topology }) => {
      layersOf(topology).push({
        class_name: 'ReLU',
        name: 'spare',
        config: { name: 'spare' },
        inbound_nodes: [[['c1', 0, 0, {}]]],
      });
    },
    functional,
  );

  // --- Fields tfjs reads unchecked.
  await tfjsCase(
    'conv-0-filters',
    'BAD_WEIGHTS',
    'a Conv2D with 0 filters was accepted silently',
    ({ topology, weights }) => {
      configOf(topology, 0)['filters'] = 0;
      weights.splice(
        0,
        4,
        weight('conv1/kernel', [3, 3, 1, 0]),
        weight('conv1/bias', [0]),
        weight('out/kernel', [0, 3]),
        weight('out/bias', [3]),
      );
    },
  );
  await tfjsCase('dense-0-units', 'BAD_WEIGHTS', 'a Dense with 0 units', ({ topology, weights }) => {
    configOf(topology, 2)['units'] = 0;
    weights.splice(2, 2, weight('out/kernel', [32, 0]), weight('out/bias', [0]));
  });
  await tfjsCase('filters-negative', 'BAD_CONFIG', 'filters = -2', ({ topology }) => {
    configOf(topology, 0)['filters'] = -2;
  });
  await tfjsCase('filters-string', 'BAD_CONFIG', 'filters = "2"', ({ topology }) => {
    configOf(topology, 0)['filters'] = '2';
  });
  await tfjsCase(
    'initializer-unknown',
    'BAD_CONFIG',
    'an initializer class tfjs does not know ("Unknown initializer" leaked from tfjs)',
    ({ topology }) => {
      configOf(topology, 0)['kernel_initializer'] = { class_name: 'NotAnInitializer', config: {} };
    },
  );
  await tfjsCase(
    'initializer-config-string',
    'BAD_CONFIG',
    'an initializer whose config is a string',
    ({ topology }) => {
      configOf(topology, 0)['kernel_initializer'] = { class_name: 'GlorotUniform', config: 'seed=1' };
    },
  );
  await tfjsCase(
    'initializer-no-config',
    'BAD_CONFIG',
    'an initializer without config ("Improper config format" leaked from tfjs)',
    ({ topology }) => {
      configOf(topology, 0)['bias_initializer'] = { class_name: 'Zeros' };
    },
  );
  await tfjsCase('regularizer-number', 'BAD_CONFIG', 'a regularizer that is a number', ({ topology }) => {
    configOf(topology, 0)['kernel_regularizer'] = 0.01;
  });
  await tfjsCase(
    'constraint-unknown',
    'BAD_CONFIG',
    'a constraint class tfjs does not know',
    ({ topology }) => {
      configOf(topology, 2)['kernel_constraint'] = { class_name: 'Clip', config: { min: 0 } };
    },
  );
  await tfjsCase(
    'activation-unknown',
    'BAD_CONFIG',
    'activation \'foo\' ("Unknown activation" leaked from tfjs)',
    ({ topology }) => {
      configOf(topology, 2)['activation'] = 'foo';
    },
  );
  await tfjsCase('activation-number', 'BAD_CONFIG', 'activation = 7', ({ topology }) => {
    configOf(topology, 2)['activation'] = 7;
  });
  await tfjsCase(
    'use-bias-string',
    'BAD_CONFIG',
    'use_bias = "false": tfjs reads it as true, the weights say otherwise',
    ({ topology }) => {
      configOf(topology, 0)['use_bias'] = 'false';
    },
  );
  await tfjsCase('input-shape-zero', 'BAD_CONFIG', 'batch_input_shape with a 0 dimension', ({ topology }) => {
    configOf(topology, 0)['batch_input_shape'] = [null, 0, 6, 1];
  });
  await tfjsCase(
    'layer-is-initializer',
    'BAD_CONFIG',
    'a layer whose class is VarianceScaling (tfjs built an initializer as a layer: "shape.forEach is not a function")',
    ({ topology }) => {
      layersOf(topology)[1]!['class_name'] = 'VarianceScaling';
    },
  );
  await tfjsCase(
    'model-class-without-layers',
    'BAD_CONFIG',
    'a layer of class Sequential whose config lists no layers',
    ({ topology }) => {
      layersOf(topology)[1]!['class_name'] = 'Sequential';
    },
  );
  await tfjsCase(
    'inputlayer-no-shape',
    'BAD_CONFIG',
    'an InputLayer without batch_input_shape (tfjs: "An InputLayer should be passed either a batchInputShape or an inputShape")',
    ({ topology }) => {
      delete configOf(topology, 0)['batch_input_shape'];
    },
    functional,
  );
  await tfjsCase(
    'nested-20-deep',
    'LIMIT_EXCEEDED',
    'Sequential models nested 20 deep',
    ({ topology, weights }) => {
      let inner: Json = {
        class_name: 'Sequential',
        config: {
          name: 'm0',
          layers: [{ class_name: 'Flatten', config: { name: 'f0', batch_input_shape: [null, 6, 6, 1] } }],
        },
      };
      for (let i = 1; i < 20; i++)
        inner = { class_name: 'Sequential', config: { name: `m${i}`, layers: [inner] } };
      (topology['config'] as Json)['layers'] = [inner];
      weights.length = 0;
    },
  );
  await tfjsCase(
    'activation-too-large',
    'LIMIT_EXCEEDED',
    'an input of 100000x100000 pixels: a 40 GB activation before any weight is read',
    ({ topology }) => {
      configOf(topology, 0)['batch_input_shape'] = [null, 100000, 100000, 1];
    },
    functional,
  );

  // --- Weights that contradict the config.
  await tfjsCase(
    'int32-kernel',
    'BAD_WEIGHTS',
    'a float kernel declared int32 was accepted silently (its bytes read as integers)',
    () => {},
    sequential,
    {
      manifest: (entries) => {
        entries[0]!['dtype'] = 'int32';
      },
    },
  );
  await tfjsCase(
    'kernel-shape-vs-config',
    'WEIGHT_MISMATCH',
    'a kernel of [3,3,1,4] for a Conv2D of 2 filters',
    ({ weights }) => {
      weights[0] = weight('conv1/kernel', [3, 3, 1, 4]);
      weights.splice(2, 1, weight('out/kernel', [32, 3]));
    },
  );
  await tfjsCase(
    'nan-weights',
    null,
    'NaN weights opened silently; now the model opens with a warning naming the layer',
    ({ weights }) => {
      weights[0] = weight('conv1/kernel', [3, 3, 1, 2], (i) => (i % 5 === 0 ? NaN : 0.1));
    },
    sequential,
    { warning: 'NaN' },
  );
  await tfjsCase(
    'inf-weights',
    null,
    'Inf weights opened silently; now the model opens with a warning naming the layer',
    ({ weights }) => {
      weights[3] = weight('out/bias', [3], (i) => (i === 1 ? Infinity : 0));
    },
    sequential,
    { warning: 'Inf' },
  );

  // --- tfjs messages that leaked through: the loader now states them in one sentence.
  await tfjsCase(
    'unknown-layer-class',
    null,
    'class FooLayer ("Unknown layer: FooLayer. This may be due to..." over three lines): analysis works, tfjs cannot build it',
    ({ topology }) => {
      layersOf(topology)[2]!['class_name'] = 'FooLayer';
    },
    functional,
    { warning: "'r' (FooLayer)" },
  );

  writeFileSync(join(DIR, 'cases.json'), await format(JSON.stringify(cases), { parser: 'json' }));
  console.log(`${cases.length} cases in ${DIR}`);
}

await main();
