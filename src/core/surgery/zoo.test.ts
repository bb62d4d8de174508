import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifactsData } from '../ir/artifacts';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../io/tf-artifacts';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph, describeGroup } from '../graph/build-graph';
import type { ChannelGraph } from '../graph/types';
import { computeCosts, makeCostModel } from '../metrics/costs';
import {
  buildChannelOracle,
  coupling,
  randomOraclePlan,
  zeroRemovedConsumers,
  type ChannelOracle,
} from '../testing/channel-oracle';
import { randomizeWeights } from '../testing/random-cnn';
import { ZOO } from '../testing/zoo';
import { applyPlan, readProvenance } from './apply-plan';
import { canonicalizePlan } from '../plan/validate';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

interface Loaded {
  artifacts: ModelArtifactsData;
  oracle: ChannelOracle;
  inputShape: number[];
}

async function load(make: () => tf.LayersModel, seed: number): Promise<Loaded> {
  const model = make();
  try {
    const oracle = buildChannelOracle(model);
    const artifacts = randomizeWeights(await artifactsFromLayersModel(model), seed);
    return { artifacts, oracle, inputShape: model.inputs[0]!.shape.slice(1) as number[] };
  } finally {
    model.dispose();
  }
}

async function predict(a: ModelArtifactsData, x: tf.Tensor): Promise<{ y: Float32Array; params: number }> {
  const model = await loadLayersModelFromArtifacts(a);
  try {
    const y = model.predict(x) as tf.Tensor;
    const data = (await y.data()) as Float32Array;
    y.dispose();
    return { y: data, params: model.countParams() };
  } finally {
    model.dispose();
  }
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= 1e-4 * scale)) {
      throw new Error(`output ${i}: pruned ${actual[i]} vs oracle ${expected[i]} (scale ${scale})`);
    }
  }
}

function report(graph: ChannelGraph): string[] {
  return graph.groups.map(
    (g) =>
      `[${g.id}] ${describeGroup(g)}${g.producers.length > 1 ? `  {${g.producers.length} producers}` : ''}${g.prunable ? '' : `  FROZEN: ${g.reason ?? ''}`}`,
  );
}

describe.each(Object.keys(ZOO))('%s', (name) => {
  it('groups agree with the independent oracle; the group report is stable', async () => {
    const { artifacts, oracle } = await load(ZOO[name]!, 1);
    const graph = buildChannelGraph(buildModelIR(artifacts));
    expect(coupling(graph.groups)).toEqual(coupling(oracle.groups));
    expect(report(graph)).toMatchSnapshot();
  });

  it('random plans: pruned outputs equal the zeroed-consumer oracle, params equal the prediction', async () => {
    const { artifacts, oracle, inputShape } = await load(ZOO[name]!, 2);
    const ir = buildModelIR(artifacts);
    const graph = buildChannelGraph(ir);
    const cost = makeCostModel(ir, graph);
    const x = tf.randomUniform([2, ...inputShape], -1, 1, 'float32', 7);
    for (const seed of [11, 12, 13]) {
      const plan = randomOraclePlan(oracle, seed);
      expect(Object.keys(plan.remove).length).toBeGreaterThan(0);
      const tensors = tf.memory().numTensors;
      const { artifacts: pruned } = applyPlan(artifacts, plan, ir, graph);
      const got = await predict(pruned, x);
      const want = await predict(zeroRemovedConsumers(artifacts, oracle, plan), x);
      expectClose(got.y, want.y);
      const predicted = cost.evaluate(plan);
      expect(got.params).toBe(predicted.params);
      expect(predicted).toEqual(computeCosts(buildModelIR(pruned)));
      expect(tf.memory().numTensors).toBe(tensors);
      // The record holds the canonical plan; layer names and order are unchanged.
      expect(readProvenance(pruned)?.plan.remove).toEqual(canonicalizePlan(graph, plan).remove);
      expect(buildModelIR(pruned).layers.map((l) => l.name)).toEqual(ir.layers.map((l) => l.name));
    }
    x.dispose();
  });
});
