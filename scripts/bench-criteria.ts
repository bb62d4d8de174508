/**
 * Bench rows for criteria, global plans and sensitivity (issue 4): time of every criterion on all
 * groups of the MobileNetV2-size model (data-based ones on random 224x224x3 images, reported per 100
 * samples), the sensitivity sweep on the bundled sample, and the accuracy each criterion keeps on the
 * bundled MNIST sample at 50% of FLOPs removed by a global plan, before fine-tuning, against random.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mobilenetV2 } from '../src/core/testing/bench-models';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../src/core/io/tf-artifacts';
import { analyseArtifacts, loadModel, type OpenedModel } from '../src/core/load';
import {
  CRITERIA,
  normalizeScores,
  scoreGroups,
  scoreGroupsWithData,
  type Criterion,
  type DataScoreOptions,
  type Normalization,
} from '../src/core/scoring';
import { planGlobal } from '../src/core/plan/global';
import { applyPlan } from '../src/core/surgery/apply-plan';
import { makeCostModel } from '../src/core/metrics/costs';
import { parseSampleSet, type SampleSet } from '../src/core/evaluate/sample-set';
import { evaluateModels } from '../src/core/evaluate/evaluate';
import { analyzeSensitivity, globalSweep } from '../src/core/sensitivity';

type Row = (what: string, value: string, target?: string) => void;
type Timer = (fn: () => unknown, reps?: number) => Promise<number>;

const root = join(import.meta.dirname, '..');

/** `n` random images of `[h, w, c]`, labelled at random among `classes`. */
function randomSet(n: number, h: number, w: number, c: number, classes: number): SampleSet {
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
  const pixels = new Uint8Array(n * h * w * c);
  for (let i = 0; i < pixels.length; i++) pixels[i] = next();
  const labels = Uint8Array.from({ length: n }, () => next() % classes);
  return { count: n, height: h, width: w, channels: c, numClasses: classes, pixels, labels };
}

/** The samples `from..to-1` of a set, sharing its bytes. */
function slice(set: SampleSet, from: number, to: number): SampleSet {
  const per = set.height * set.width * set.channels;
  return {
    ...set,
    count: to - from,
    pixels: set.pixels.subarray(from * per, to * per),
    labels: set.labels ? set.labels.subarray(from, to) : null,
  };
}

async function accuracyOf(
  m: OpenedModel,
  plan: Parameters<typeof applyPlan>[1],
  set: SampleSet,
): Promise<number> {
  const model = await loadLayersModelFromArtifacts(applyPlan(m.artifacts, plan, m.ir, m.graph).artifacts);
  try {
    return (await evaluateModels([model], set, { batchSize: 100 })).accuracy[0] ?? Number.NaN;
  } finally {
    model.dispose();
  }
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** Adds the issue-4 rows to the bench table. */
export async function benchCriteria(row: Row, time: Timer): Promise<void> {
  // 1. MobileNetV2 (224x224x3, 3.5M params): every criterion on all groups.
  const built = mobilenetV2(224);
  const mnv2 = analyseArtifacts(await artifactsFromLayersModel(built));
  const groups = mnv2.graph.groups.length;
  for (const c of CRITERIA.filter((k) => !k.dataBased)) {
    const ms = await time(() => scoreGroups(mnv2.ir, mnv2.artifacts, mnv2.graph, c.id), 3);
    row(`MobileNetV2: ${c.id} scores, all ${groups} groups`, `${ms.toFixed(1)} ms`);
  }
  // Data-based: measured on 16 random images (wasm, one thread), scaled to 100; 100 would take minutes.
  const n = 16;
  const images = randomSet(n, 224, 224, 3, 1000);
  for (const c of CRITERIA.filter((k) => k.dataBased)) {
    const options: DataScoreOptions = { taylor: 'sum-of-abs' };
    // Warm-up on one batch (kernel set-up), then the measured run.
    await scoreGroupsWithData(built, mnv2.ir, mnv2.artifacts, mnv2.graph, c.id, images, {
      ...options,
      maxSamples: 2,
    });
    const t0 = performance.now();
    await scoreGroupsWithData(built, mnv2.ir, mnv2.artifacts, mnv2.graph, c.id, images, options);
    const seconds = (performance.now() - t0) / 1000;
    row(
      `MobileNetV2: ${c.id} scores, all groups, per 100 samples`,
      `${((seconds / n) * 100).toFixed(1)} s`,
      `measured on ${n} (batch ${c.id === 'taylor' ? 8 : 16})`,
    );
  }
  built.dispose();

  // 2. The bundled sample: sensitivity sweep and global sweep.
  const dir = join(root, 'public/samples/mnist-cnn');
  const sample = await loadModel(
    ['model.json', 'group1-shard1of1.bin'].map((p) => ({
      path: p,
      bytes: new Uint8Array(readFileSync(join(dir, p))),
    })),
  );
  const heldout = parseSampleSet(
    new Uint8Array(readFileSync(join(root, 'public/samples/mnist-heldout.plss'))),
    'heldout',
  );
  const l1 = scoreGroups(sample.ir, sample.artifacts, sample.graph, 'l1');
  let t0 = performance.now();
  const sens = await analyzeSensitivity(sample, l1, heldout, { criterion: 'l1' });
  const evaluations = 1 + sens.curves.reduce((k, c) => k + new Set(c.points.map((p) => p.removed)).size, 0);
  row(
    `sample: sensitivity, ${sens.curves.length} layers x ${sens.ratios.length} ratios, ${heldout.count} digits`,
    `${((performance.now() - t0) / 1000).toFixed(1)} s (${evaluations} evaluations)`,
  );
  t0 = performance.now();
  const sweep = await globalSweep(sample, { l1 }, heldout, {});
  const points = sweep.series.reduce((k, s) => k + s.points.length, 0);
  row(
    `sample: global sweep, l1 + random at ${sweep.series[0]!.points.length} FLOP targets`,
    `${((performance.now() - t0) / 1000).toFixed(1)} s (${points} plans)`,
  );

  // 3. Accuracy kept at 50% of FLOPs removed (global plan), before fine-tuning. Data-based scores
  // come from the first 500 held-out digits; accuracy is measured on the other 1500.
  const scoreSet = slice(heldout, 0, 500);
  const evalSet = slice(heldout, 500, heldout.count);
  const costs = makeCostModel(sample.ir, sample.graph);
  const live = await loadLayersModelFromArtifacts(sample.artifacts);
  const original = (await evaluateModels([live], evalSet, { batchSize: 100 })).accuracy[0]!;
  row('MNIST sample: original accuracy (digits 500-1999)', pct(original));
  const target = { kind: 'flops' as const, fraction: 0.5 };
  const at50 = async (raw: Record<string, Float32Array>, norm: Normalization) => {
    const r = planGlobal(sample.graph, normalizeScores(raw, norm), costs, target);
    return { acc: await accuracyOf(sample, r.plan, evalSet), removed: r.removed.flops };
  };
  const randomAcc: Record<Normalization, number[]> = { none: [], mean: [], lamp: [] };
  for (let seed = 0; seed < 5; seed++) {
    const raw = scoreGroups(sample.ir, sample.artifacts, sample.graph, 'random', { seed });
    for (const norm of ['mean', 'lamp'] as const) randomAcc[norm].push((await at50(raw, norm)).acc);
  }
  const variants: { id: Criterion; label: string; options?: DataScoreOptions }[] = [
    ...CRITERIA.filter((c) => c.id !== 'random').map((c) => ({
      id: c.id,
      label: c.id === 'taylor' ? 'taylor (sum-of-abs)' : c.id,
      options: { taylor: 'sum-of-abs' as const },
    })),
    { id: 'taylor', label: 'taylor (abs-of-sum)', options: { taylor: 'abs-of-sum' } },
  ];
  for (const v of variants) {
    const raw = await scoreGroupsWithData(
      live,
      sample.ir,
      sample.artifacts,
      sample.graph,
      v.id,
      scoreSet,
      v.options,
    );
    const mean = await at50(raw, 'mean');
    const lamp = await at50(raw, 'lamp');
    row(
      `MNIST sample, 50% FLOPs removed: ${v.label}`,
      `${pct(mean.acc)} (mean) / ${pct(lamp.acc)} (LAMP)`,
      `FLOPs -${pct(mean.removed)}`,
    );
  }
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const range = (xs: number[]) => `${pct(Math.min(...xs))}..${pct(Math.max(...xs))}`;
  row(
    'MNIST sample, 50% FLOPs removed: random, 5 seeds',
    `${pct(avg(randomAcc.mean))} (mean) / ${pct(avg(randomAcc.lamp))} (LAMP)`,
    `${range(randomAcc.mean)} / ${range(randomAcc.lamp)}`,
  );
  live.dispose();
}
