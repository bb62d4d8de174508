/**
 * Bench rows for real CNN graphs (issue 3): graph analysis and applyPlan on MobileNetV2- and
 * InceptionV3-size models built with the layers API, and batch-1 latency of each pruned model against
 * its original inside one run (latency swings between runs here), with and without round-to-8.
 */
import * as tf from '@tensorflow/tfjs';
import { buildBenchModels } from '../src/core/testing/bench-models';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../src/core/io/tf-artifacts';
import { analyseArtifacts } from '../src/core/load';
import { scoreGroups } from '../src/core/scoring';
import { planLowestFraction } from '../src/core/plan/auto';
import { applyPlan } from '../src/core/surgery/apply-plan';
import { makeCostModel } from '../src/core/metrics/costs';

type Row = (what: string, value: string, target?: string) => void;
type Timer = (fn: () => unknown, reps?: number) => Promise<number>;

async function latency(models: tf.LayersModel[], shape: number[], reps: number): Promise<number[]> {
  const x = tf.randomUniform([1, ...shape]);
  const times = models.map(() => [] as number[]);
  for (const m of models) (m.predict(x) as tf.Tensor).dispose(); // warm-up
  // Interleaved, so drift on a shared machine hits every model alike.
  for (let r = 0; r < reps; r++) {
    for (const [i, m] of models.entries()) {
      const t0 = performance.now();
      const y = m.predict(x) as tf.Tensor;
      await y.data();
      times[i]!.push(performance.now() - t0);
      y.dispose();
    }
  }
  x.dispose();
  return times.map((t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

/** Adds the issue-3 rows to the bench table. */
export async function benchGraphs(row: Row, time: Timer): Promise<void> {
  for (const { name, model } of buildBenchModels()) {
    const inputShape = model.inputs[0]!.shape.slice(1) as number[];
    const artifacts = await artifactsFromLayersModel(model);
    model.dispose();
    const t0 = performance.now();
    const m = analyseArtifacts(artifacts);
    const first = performance.now() - t0;
    const params = makeCostModel(m.ir, m.graph).evaluate({ version: 1, remove: {} }).params;
    row(
      `${name} (${m.ir.layers.length} layers, ${(params / 1e6).toFixed(2)}M params): analysis (IR + groups)`,
      `${(await time(() => analyseArtifacts(artifacts))).toFixed(1)} ms (first ${first.toFixed(1)} ms)`,
      'under 100 ms',
    );
    const t1 = performance.now();
    const scores = scoreGroups(m.ir, m.artifacts, m.graph, 'l1');
    const plan = planLowestFraction(m.graph, scores, 0.3);
    const planMs = performance.now() - t1;
    const surgery = await time(() => applyPlan(artifacts, plan, m.ir, m.graph), 3);
    row(`${name}: L1 scores + 30% plan`, `${planMs.toFixed(0)} ms`);
    row(`${name}: applyPlan 30% (L1)`, `${surgery.toFixed(0)} ms`, 'under 1 s');
    row(
      `${name}: set-up + prune 30%, all in (Torch-Pruning: ${name.includes('Inception') ? '0.78' : '0.24'} s)`,
      `${(first + planMs + surgery).toFixed(0)} ms`,
    );
    const plan8 = planLowestFraction(m.graph, scores, 0.3, { roundTo: 8 });
    const cost = makeCostModel(m.ir, m.graph);
    const pruned = await loadLayersModelFromArtifacts(applyPlan(artifacts, plan, m.ir, m.graph).artifacts);
    const pruned8 = await loadLayersModelFromArtifacts(applyPlan(artifacts, plan8, m.ir, m.graph).artifacts);
    const original = await loadLayersModelFromArtifacts(artifacts);
    const [lo, lp, l8] = await latency([original, pruned, pruned8], inputShape, 5);
    const gf = (p: typeof plan) => (cost.evaluate(p).flops / 1e9).toFixed(2);
    row(
      `${name}: batch-1 latency original / 30% / 30% round-to-8`,
      `${lo!.toFixed(0)} / ${lp!.toFixed(0)} / ${l8!.toFixed(0)} ms (GFLOPs ${gf({ version: 1, remove: {} })} / ${gf(plan)} / ${gf(plan8)})`,
    );
    original.dispose();
    pruned.dispose();
    pruned8.dispose();
  }
}
