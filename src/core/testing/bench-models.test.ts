import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel } from '../io/tf-artifacts';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { computeCosts } from '../metrics/costs';
import { buildBenchModels } from './bench-models';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('buildBenchModels', () => {
  it('builds MobileNetV2 and InceptionV3 at full size, with Keras Applications parameter counts, and analyses them', async () => {
    const models = buildBenchModels();
    const seen: Record<string, unknown> = {};
    for (const { name, model } of models) {
      const params = model.countParams();
      const artifacts = await artifactsFromLayersModel(model);
      model.dispose();
      const ir = buildModelIR(artifacts);
      const graph = buildChannelGraph(ir);
      expect(computeCosts(ir).params).toBe(params);
      seen[name] = {
        params,
        layers: ir.layers.length,
        groups: graph.groups.length,
        prunable: graph.groups.filter((g) => g.prunable).length,
        coupled: graph.groups
          .filter((g) => g.producers.length > 1)
          .map((g) => `${g.producer} x${g.producers.length} (${g.size})`),
      };
    }
    expect(seen).toMatchInlineSnapshot(`
      {
        "InceptionV3": {
          "coupled": [],
          "groups": 95,
          "layers": 313,
          "params": 23851784,
          "prunable": 94,
        },
        "MobileNetV2": {
          "coupled": [
            "block_1_project x2 (24)",
            "block_3_project x3 (32)",
            "block_6_project x4 (64)",
            "block_10_project x3 (96)",
            "block_13_project x3 (160)",
          ],
          "groups": 26,
          "layers": 156,
          "params": 3538984,
          "prunable": 25,
        },
      }
    `);
  });
});
