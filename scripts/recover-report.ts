/**
 * `npx tsx scripts/recover-report.ts`: how much accuracy pruning costs on the bundled MNIST sample
 * and how much BatchNorm re-estimation and fine-tuning (with and without distillation) win back,
 * each with its wall time, on the wasm backend. A report, not a test: nothing here asserts.
 *
 * Data: the 2,000 held-out digits of `mnist-heldout.plss`, split (stratified, seed 0) into 1,500
 * for BN re-estimation and training and 500 for the accuracy shown. Plans: global L1 with mean
 * normalisation to 50% and 75% fewer FLOPs. Each recovery starts from a fresh copy of the pruned
 * model; fine-tuning starts after BN re-estimation. Best-epoch selection uses the same 500 digits
 * the accuracy is read on, so the fine-tuned figures lean slightly optimistic (the last epoch's
 * figure is shown too). Latency is per image at batch 1 on this machine: the median of 5 interleaved
 * rounds of 100 runs each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/node/tf-node';
import { loadModel } from '../src/core/load';
import { scoreGroups } from '../src/core/scoring';
import { normalizeScores } from '../src/core/scoring/normalize';
import { planGlobal } from '../src/core/plan/global';
import { makeCostModel } from '../src/core/metrics/costs';
import { applyPlan } from '../src/core/surgery/apply-plan';
import { loadLayersModelFromArtifacts } from '../src/core/io/tf-artifacts';
import { parseSampleSet } from '../src/core/evaluate/sample-set';
import {
  asSampleSource,
  splitSource,
  withoutLabels,
  type SampleSource,
} from '../src/core/evaluate/sample-source';
import { compareModels } from '../src/core/evaluate/compare';
import { measureLatency } from '../src/core/evaluate/metrics';
import { reestimateBatchNorm } from '../src/core/train/batch-norm';
import { fineTune, type FineTuneOptions } from '../src/core/train/fine-tune';

const root = join(import.meta.dirname, '..');
const EPOCHS = Number(process.env['EPOCHS'] ?? 3);
const rows: string[][] = [];

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

const pct = (v: number | null | undefined): string => (v == null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function accuracyOn(model: tf.LayersModel, val: SampleSource): Promise<number> {
  const r = await compareModels([model], val, { batchSize: 100 });
  return r.models[0]!.metrics!.top1!;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

async function main(): Promise<void> {
  const backend = await initNodeBackend('wasm');
  log(`backend: ${backend}, epochs: ${EPOCHS}`);
  const dir = join(root, 'public/samples/mnist-cnn');
  const files = ['model.json', 'group1-shard1of1.bin'].map((p) => ({
    path: p,
    bytes: new Uint8Array(readFileSync(join(dir, p))),
  }));
  const { artifacts, ir, graph } = await loadModel(files);
  const set = parseSampleSet(
    new Uint8Array(readFileSync(join(root, 'public/samples/mnist-heldout.plss'))),
    'mnist-heldout.plss',
  );
  const split = splitSource(asSampleSource(set), 0.25, 0);
  const { train, val } = split;
  log(`split: ${train.count} train / ${val.count} val`);

  const original = await loadLayersModelFromArtifacts(artifacts);
  const baseAcc = await accuracyOn(original, val);
  rows.push(['original', '0%', pct(baseAcc), '-', '']);
  const forLatency: [number, tf.LayersModel][] = [[0, original]];

  const scores = normalizeScores(scoreGroups(ir, artifacts, graph, 'l1'), 'mean');
  const costs = makeCostModel(ir, graph);
  for (const fraction of [0.5, 0.75]) {
    const [pruned, pruneMs] = await timed(() => {
      const plan = planGlobal(graph, scores, costs, { kind: 'flops', fraction });
      return Promise.resolve({ plan, artifacts: applyPlan(artifacts, plan.plan).artifacts });
    });
    const flops = `${(100 * pruned.plan.removed.flops).toFixed(1)}%`;
    const removed = Object.entries(pruned.plan.plan.remove).map(([k, v]) => `${k} -${v.length}`);
    log(`${fraction * 100}% FLOPs: removes ${removed.join(', ')}`);
    const label = `-${fraction * 100}% FLOPs`;
    const fresh = (): Promise<tf.LayersModel> => loadLayersModelFromArtifacts(pruned.artifacts);

    const m0 = await fresh();
    forLatency.push([rows.length, await fresh()]);
    rows.push([`${label}: pruned`, flops, pct(await accuracyOn(m0, val)), secs(pruneMs), '']);
    const [, bnMs] = await timed(() => reestimateBatchNorm(m0, train, { batchSize: 100 }));
    rows.push([`${label}: + BN re-estimation`, flops, pct(await accuracyOn(m0, val)), secs(bnMs), '']);
    m0.dispose();

    const variants: [string, FineTuneOptions, boolean][] = [
      ['fine-tune (labels)', { epochs: EPOCHS, batchSize: 32, learningRate: 1e-3 }, true],
      [
        'fine-tune + distillation (T=4, alpha=0.5)',
        { epochs: EPOCHS, batchSize: 32, learningRate: 1e-3, teacher: original, temperature: 4, alpha: 0.5 },
        true,
      ],
      [
        'pure distillation, no labels (T=4)',
        { epochs: EPOCHS, batchSize: 32, learningRate: 1e-3, teacher: original, temperature: 4 },
        false,
      ],
    ];
    for (const [name, opts, labelled] of variants) {
      const m = await fresh();
      await reestimateBatchNorm(m, train, { batchSize: 100 });
      const trainSet = labelled ? train : withoutLabels(train);
      const valSet = labelled ? val : withoutLabels(val);
      const [r, ms] = await timed(() => fineTune(m, trainSet, valSet, opts));
      const acc = await accuracyOn(m, val);
      const last = r.history[r.history.length - 1];
      const lastAcc = labelled ? last?.valAccuracy : null;
      rows.push([
        `${label}: BN + ${name}`,
        flops,
        `${pct(acc)} (best epoch ${r.bestEpoch}${lastAcc != null ? `, last ${pct(lastAcc)}` : ''})`,
        secs(ms),
        '',
      ]);
      log(
        `  ${label} ${name}: ${pct(acc)} in ${secs(ms)}; history ${JSON.stringify(r.history.map((h) => [h.loss.toFixed(3), pct(h.valAccuracy), h.valKl?.toFixed(4)]))}`,
      );
      m.dispose();
    }
  }
  // Latency per image (batch 1), rounds interleaved so drift hits every model alike; the median
  // of each model's round medians.
  const medians = forLatency.map((): number[] => []);
  for (let round = 0; round < 5; round++) {
    for (const [i, [, m]] of forLatency.entries()) {
      medians[i]!.push((await measureLatency(m, { warmup: 10, runs: 100 })).perImageMs);
    }
  }
  forLatency.forEach(([row, m], i) => {
    const ms = [...medians[i]!].sort((a, b) => a - b)[2]!;
    rows[row]![4] = `${ms.toFixed(3)} ms`;
    if (m !== original) m.dispose();
  });
  original.dispose();

  const header = [
    'model',
    'FLOPs removed',
    `val accuracy (${val.count} digits)`,
    'wall time of the step',
    'latency / image',
  ];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  process.stdout.write(`${table}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
