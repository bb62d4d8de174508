import { describe, expect, it } from 'vitest';
import { tfjsCompatibleTopology } from './tf-artifacts';

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
