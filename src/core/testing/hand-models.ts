/**
 * Test-only: hand-written Keras JSON models with weights shaped from a spec, no tfjs needed.
 * `handSequential([['Conv2D', {name: 'c', filters: 8, kernel_size: 3, batch_input_shape: [null, 28, 28, 1]}], ...], weights)`.
 */
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import type { KerasModelTopology } from '../ir/keras-json';

/** A float32 weight filled by `fill(i)` (zeros by default). */
export function weight(name: string, shape: number[], fill: (i: number) => number = () => 0): WeightTensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return { name, shape, dtype: 'float32', values: Float32Array.from({ length: n }, (_, i) => fill(i)) };
}

/** A Sequential model from `[className, config]` pairs and weights. */
export function handSequential(
  layers: [string, Record<string, unknown>][],
  weights: WeightTensor[],
): ModelArtifactsData {
  const topology = {
    class_name: 'Sequential',
    config: { name: 'hand', layers: layers.map(([class_name, config]) => ({ class_name, config })) },
  } as KerasModelTopology;
  return { modelTopology: topology, weights };
}

/**
 * A Functional model from `[className, config, inboundNames]` triples (Keras 2 `inbound_nodes` form),
 * so tests can use classes tfjs cannot run (Subtract, Lambda, custom) or configs it cannot make.
 * The first output of `outputs` default: the last layer.
 */
export function handFunctional(
  layers: [string, Record<string, unknown>, string[]][],
  weights: WeightTensor[],
  outputs?: string[],
): ModelArtifactsData {
  const names = layers.map(([, c]) => String(c['name']));
  const topology = {
    class_name: 'Functional',
    config: {
      name: 'hand',
      layers: layers.map(([class_name, config, inbound]) => ({
        class_name,
        config,
        name: config['name'],
        inbound_nodes: inbound.length === 0 ? [] : [inbound.map((n) => [n, 0, 0, {}])],
      })),
      input_layers: layers.filter(([c]) => c === 'InputLayer').map(([, c]) => [c['name'], 0, 0]),
      output_layers: (outputs ?? [names[names.length - 1]!]).map((n) => [n, 0, 0]),
    },
  } as KerasModelTopology;
  return { modelTopology: topology, weights };
}
