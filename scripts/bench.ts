/**
 * `npm run bench`: prints a table of the figures the workbench issue asks for, in Node on the wasm
 * backend (the page's backend on machines without a GPU). Not a test: nothing here asserts.
 * Comparisons alternate their sides (A B A B, REPEATS >= 5, default 7) and print median, spread and
 * ratio (issue 13: one non-alternated measurement swung 90-128% run to run). `BENCH_ONLY=latency`
 * skips the criteria and graph rows; `BENCH_MODELS=MobileNetV2` limits the latency rows to one model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/node/tf-node';
import { loadModel, analyseArtifacts } from '../src/core/load';
import { scoreGroups } from '../src/core/scoring';
import { planLowestFraction } from '../src/core/plan/auto';
import { applyPlan } from '../src/core/surgery/apply-plan';
import { makeCostModel } from '../src/core/metrics/costs';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../src/core/io/tf-artifacts';
import { parseSampleSet, sampleBatch } from '../src/core/evaluate/sample-set';
import { evaluateModels } from '../src/core/evaluate/evaluate';
import type { PruningPlan } from '../src/core/plan/plan';
import { benchGraphs } from './bench-graphs';
import { deepCnn } from './deep-cnn';
import { benchCriteria } from './bench-criteria';
import { benchLatency, benchTrained } from './bench-latency';

const root = join(import.meta.dirname, '..');
const rows: [string, string, string][] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs fn `reps` times (after one warm-up) and returns the median in ms. */
async function time(fn: () => unknown, reps = 5): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** Repeats for every A/B comparison (>= 5). */
const REPEATS = Math.max(5, Number(process.env.REPEATS ?? 7));

/**
 * Times several functions alternately: one warm-up of each, then `reps` rounds of A B (C ...), so
 * drift on a shared machine hits every side alike. Returns each side's samples in ms.
 */
async function alternate(fns: (() => unknown)[], reps: number): Promise<number[][]> {
  for (const fn of fns) await fn();
  const out = fns.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    for (const [i, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      out[i]!.push(performance.now() - t0);
    }
  }
  return out;
}

/** "min-max ms" of samples. */
function spreadOf(xs: number[]): string {
  return `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)} ms`;
}

function row(what: string, value: string, target = ''): void {
  rows.push([what, value, target]);
  process.stderr.write(`  ${what}: ${value}\n`);
}

async function main(): Promise<void> {
  const backend = await initNodeBackend('wasm');
  process.stderr.write(`backend: ${backend}\n`);

  // 1. The bundled sample: load, score, plan, surgery.
  const dir = join(root, 'public/samples/mnist-cnn');
  const files = ['model.json', 'group1-shard1of1.bin'].map((p) => ({
    path: p,
    bytes: new Uint8Array(readFileSync(join(dir, p))),
  }));
  const sample = await loadModel(files);
  row('sample: load (parse + IR + graph)', `${(await time(() => loadModel(files))).toFixed(2)} ms`);
  row(
    'sample: score all layers (L1)',
    `${(await time(() => scoreGroups(sample.ir, sample.artifacts, sample.graph, 'l1'))).toFixed(3)} ms`,
  );
  const samplePlan = planLowestFraction(
    sample.graph,
    scoreGroups(sample.ir, sample.artifacts, sample.graph, 'l1'),
    0.5,
  );
  row(
    'sample: applyPlan (50% of every layer)',
    `${(await time(() => applyPlan(sample.artifacts, samplePlan, sample.ir, sample.graph))).toFixed(2)} ms`,
  );

  // 2. Preview throughput against plain predict, same backend, same batches.
  const set = parseSampleSet(
    new Uint8Array(readFileSync(join(root, 'public/samples/mnist-heldout.plss'))),
    'heldout',
  );
  const original = await loadLayersModelFromArtifacts(sample.artifacts);
  const pruned = await loadLayersModelFromArtifacts(applyPlan(sample.artifacts, samplePlan).artifacts);
  const batch = 64;
  const plainPredict = async () => {
    for (let s = 0; s < set.count; s += batch) {
      const x = sampleBatch(set, s, Math.min(set.count, s + batch));
      const ya = original.predict(x) as tf.Tensor;
      const yb = pruned.predict(x) as tf.Tensor;
      await ya.data();
      await yb.data();
      tf.dispose([x, ya, yb]);
    }
  };
  // Alternated (A B A B, after a warm-up of each), so drift on a shared machine hits both alike.
  const [plain, preview] = await alternate(
    [plainPredict, () => evaluateModels([original, pruned], set, { batchSize: batch })],
    REPEATS,
  );
  const ips = (t: number) => ((2 * set.count) / (t / 1000)).toFixed(0);
  row(
    `preview: plain model.predict, 2 models x ${set.count} images, batch ${batch} (median of ${REPEATS}, spread)`,
    `${ips(median(plain!))} images/s (${spreadOf(plain!)})`,
  );
  row(
    'preview: evaluateModels (accuracy + agreement), alternated with plain',
    `${ips(median(preview!))} images/s (${spreadOf(preview!)}); ratio ${(median(plain!) / median(preview!)).toFixed(2)} of plain`,
    'within 10% of plain',
  );
  original.dispose();
  pruned.dispose();

  // 3. A 300-layer model: load, score, surgery, and tick -> totals.
  const deep = deepCnn(100);
  const deepArtifacts = await artifactsFromLayersModel(deep);
  deep.dispose();
  const d = analyseArtifacts(deepArtifacts);
  row(
    `300-layer CNN (${d.ir.layers.length} layers): analyse (IR + graph)`,
    `${(await time(() => analyseArtifacts(deepArtifacts))).toFixed(2)} ms`,
  );
  const deepScores = scoreGroups(d.ir, d.artifacts, d.graph, 'l1');
  row(
    '300-layer CNN: score all layers (L1)',
    `${(await time(() => scoreGroups(d.ir, d.artifacts, d.graph, 'l1'))).toFixed(2)} ms`,
  );
  const deepPlan = planLowestFraction(d.graph, deepScores, 0.3);
  row(
    '300-layer CNN: applyPlan (30% of every layer)',
    `${(await time(() => applyPlan(d.artifacts, deepPlan, d.ir, d.graph))).toFixed(2)} ms`,
  );
  const cost = makeCostModel(d.ir, d.graph);
  // A tick: add one channel to a layer's list (as the store does) and re-total.
  const layers = Object.keys(deepPlan.remove);
  let k = 0;
  const tick = () => {
    const layer = layers[k++ % layers.length]!;
    const cur = deepPlan.remove[layer] ?? [];
    const next: PruningPlan = {
      ...deepPlan,
      remove: { ...deepPlan.remove, [layer]: [...cur, cur.length].sort((a, b) => a - b) },
    };
    return cost.evaluate(next);
  };
  const ticks: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    tick();
    ticks.push(performance.now() - t0);
  }
  row(
    '300-layer CNN: tick -> updated totals (median of 200)',
    `${median(ticks).toFixed(3)} ms`,
    'under 16 ms',
  );

  if (process.env.BENCH_ONLY !== 'latency') {
    await benchGraphs(row, time);
    await benchCriteria(row, time);
  }
  await benchLatency(row);
  await benchTrained(row);

  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length)), 20];
  const line = (a: string, b: string, c: string) =>
    `| ${a.padEnd(w[0]!)} | ${b.padEnd(w[1]!)} | ${c.padEnd(w[2]!)} |`;
  console.log(line('measure', 'value', 'target'));
  console.log(line('-'.repeat(w[0]!), '-'.repeat(w[1]!), '-'.repeat(w[2]!)));
  for (const r of rows) console.log(line(...r));
}

await main();
