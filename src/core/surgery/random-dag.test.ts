import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifactsData } from '../ir/artifacts';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../io/tf-artifacts';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { computeCosts, makeCostModel } from '../metrics/costs';
import { validatePlan } from '../plan/validate';
import {
  buildChannelOracle,
  coupling,
  randomOraclePlan,
  zeroRemovedConsumers,
} from '../testing/channel-oracle';
import { buildDag, dagSpecArb } from '../testing/random-dag';
import { randomizeWeights } from '../testing/random-cnn';
import { applyPlan } from './apply-plan';

/** `PRUNELAB_RUNS=500 npx vitest run src/core/surgery/random-dag` soaks the property longer. */
const RUNS = Number(process.env['PRUNELAB_RUNS'] ?? 0);

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

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

describe('random DAGs (property)', () => {
  it('groups match the oracle; pruned = zeroed-consumer oracle; params = prediction = recount', async () => {
    await fc.assert(
      fc.asyncProperty(dagSpecArb(), fc.integer({ min: 1, max: 2 ** 30 }), async (spec, planSeed) => {
        const model = buildDag(spec);
        const oracle = buildChannelOracle(model);
        let artifacts: ModelArtifactsData;
        try {
          artifacts = randomizeWeights(await artifactsFromLayersModel(model), spec.seed);
        } finally {
          model.dispose();
        }
        const ir = buildModelIR(artifacts);
        const graph = buildChannelGraph(ir);
        expect(coupling(graph.groups)).toEqual(coupling(oracle.groups));

        const plan = randomOraclePlan(oracle, planSeed);
        expect(validatePlan(graph, plan)).toEqual([]);
        const { artifacts: pruned } = applyPlan(artifacts, plan, ir, graph);
        const x = tf.randomUniform([2, ...spec.input], -1, 1, 'float32', spec.seed);
        const got = await predict(pruned, x);
        const want = await predict(zeroRemovedConsumers(artifacts, oracle, plan), x);
        x.dispose();
        const scale = Math.max(1, ...Array.from(want.y, Math.abs));
        got.y.forEach((v, i) => {
          if (!(Math.abs(v - want.y[i]!) <= 1e-4 * scale)) {
            throw new Error(`output ${i}: pruned ${v} vs oracle ${want.y[i]} (scale ${scale})`);
          }
        });
        const predicted = makeCostModel(ir, graph).evaluate(plan);
        expect(got.params).toBe(predicted.params);
        expect(predicted).toEqual(computeCosts(buildModelIR(pruned)));
      }),
      { numRuns: RUNS > 0 ? RUNS : 60 },
    );
  });
});
