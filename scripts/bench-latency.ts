/**
 * Bench rows for issue 13 (speed a user feels), on the MobileNetV2- and InceptionV3-size models, in
 * Node on the active backend (wasm): set-up + prune against Torch-Pruning's figures; calibration time;
 * a latency plan to "2x faster" (stated speed-up against the measured one); FLOPs-target plans (the
 * measured speed-up against the FLOPs ratio). Every latency comparison alternates the original and the
 * pruned model (A B A B, `REPEATS` each after a warm-up) and gives median, spread and ratio.
 * `BENCH_MODELS=MobileNetV2` runs one model only.
 */
import type * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBenchModels } from '../src/core/testing/bench-models';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../src/core/io/tf-artifacts';
import type { ModelArtifactsData } from '../src/core/ir/artifacts';
import { analyseArtifacts, loadModel, type OpenedModel } from '../src/core/load';
import { normalizeScores, scoreGroups } from '../src/core/scoring';
import { planLowestFraction } from '../src/core/plan/auto';
import { planGlobal } from '../src/core/plan/global';
import { planGlobalForSpeed } from '../src/core/plan/speed-aware';
import { planLatency } from '../src/core/plan/latency-plan';
import { planLatencyMeasured } from '../src/core/plan/latency-verify';
import type { PruningPlan } from '../src/core/plan/plan';
import { applyPlan } from '../src/core/surgery/apply-plan';
import { makeCostModel } from '../src/core/metrics/costs';
import {
  calibrateLatency,
  compareModelLatency,
  median,
  type LatencySample,
} from '../src/core/metrics/latency';
import { makeLatencyModel, refitToMeasurement } from '../src/core/metrics/latency-model';

type Row = (what: string, value: string, target?: string) => void;

const REPEATS = Number(process.env.REPEATS ?? 7);

/** Torch-Pruning's set-up + prune (DependencyGraph + MagnitudePruner, 30%), issue 13, measured on this machine. */
const TORCH_PRUNING_MS: Record<string, [number, number]> = {
  MobileNetV2: [146, 157],
  InceptionV3: [728, 754],
};

const f1 = (x: number) => x.toFixed(1);
const spread = (s: LatencySample) => `${f1(s.minMs)}-${f1(s.maxMs)}`;

/** Original against pruned, alternated: medians, spreads and the speed-up. */
async function speedup(
  original: tf.LayersModel,
  artifacts: ModelArtifactsData,
  m: OpenedModel,
  plan: PruningPlan,
): Promise<{ text: string; ratio: number; originalMs: number; prunedMs: number }> {
  const pruned = await loadLayersModelFromArtifacts(applyPlan(artifacts, plan, m.ir, m.graph).artifacts);
  try {
    const c = await compareModelLatency(original, pruned, { repeats: REPEATS });
    return {
      ratio: c.ratio,
      originalMs: c.a.medianMs,
      prunedMs: c.b.medianMs,
      text: `${f1(c.a.medianMs)} (${spread(c.a)}) -> ${f1(c.b.medianMs)} (${spread(c.b)}) ms, ${c.ratio.toFixed(2)}x`,
    };
  } finally {
    pruned.dispose();
  }
}

/** Adds the issue-13 rows. */
export async function benchLatency(row: Row): Promise<void> {
  const only = process.env.BENCH_MODELS?.split(',');
  for (const { name, model } of buildBenchModels()) {
    if (only && !only.includes(name)) {
      model.dispose();
      continue;
    }
    const artifacts = await artifactsFromLayersModel(model);
    model.dispose();

    // Set-up + prune, all in (analysis, L1 scores, 30% plan, surgery), 5 runs: median and spread.
    const setup: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const a = analyseArtifacts(artifacts);
      const p = planLowestFraction(a.graph, scoreGroups(a.ir, a.artifacts, a.graph, 'l1'), 0.3);
      applyPlan(artifacts, p, a.ir, a.graph);
      setup.push(performance.now() - t0);
    }
    const tp = TORCH_PRUNING_MS[name]!;
    const ours = median(setup);
    row(
      `${name}: set-up + prune 30% (L1), median of 5 (spread)`,
      `${ours.toFixed(0)} ms (${Math.min(...setup).toFixed(0)}-${Math.max(...setup).toFixed(0)}) vs Torch-Pruning ${tp[0]}-${tp[1]} ms (issue 13): ${(ours / tp[0]).toFixed(2)}-${(ours / tp[1]).toFixed(2)}x`,
      '<= 0.3x Torch-Pruning',
    );

    const m = analyseArtifacts(artifacts);
    const costs = makeCostModel(m.ir, m.graph);
    const base = costs.evaluate({ version: 1, remove: {} });
    const scores = normalizeScores(scoreGroups(m.ir, m.artifacts, m.graph, 'l1'), 'mean');
    const original = await loadLayersModelFromArtifacts(artifacts);
    try {
      // Calibration on this backend.
      const cal = await calibrateLatency(m);
      row(
        `${name}: calibration (${cal.groups.length} groups x ${cal.groups[0]?.counts.length ?? 0} counts, ${cal.layers.length} layers timed)`,
        `${cal.seconds.toFixed(1)} s; whole model ${f1(cal.baselineMs)} ms, layers alone ${f1(cal.layerSumMs)} ms, ${cal.skipped.length} skipped`,
      );
      const lm = makeLatencyModel(cal, m.graph);
      row(
        `${name}: latency model scales (global check 30%${cal.checks ? `, ${cal.checks.length} cluster checks 50%` : ''})`,
        `global ${lm.scale.toFixed(2)}${
          lm.scales
            ? `; ${Object.entries(lm.scales)
                .map(([c, s]) => `${c} ${s.toFixed(2)}`)
                .join(', ')}`
            : ''
        }`,
      );
      // A latency plan to 2x faster: stated against measured; then once more after refitting the
      // latency model to that measured proposal (NetAdapt measures its proposals).
      for (const factor of [2, 1.5]) {
        const target = { kind: 'speedup' as const, factor };
        const r = planLatency(m.graph, scores, lm, costs, target, { maxRatio: 0.9 });
        const s = await speedup(original, artifacts, m, r.plan);
        const flopsRatio = base.flops / r.reached.flops;
        row(
          `${name}: latency plan "${factor}x faster" (L1, mean, max 90%): stated ${r.predictedSpeedup.toFixed(2)}x`,
          `measured ${s.text}; measured/stated ${(s.ratio / r.predictedSpeedup).toFixed(2)}; FLOPs /${flopsRatio.toFixed(2)}`,
          'measured within 10% of stated',
        );
        const refit = refitToMeasurement(cal, m.graph, r.plan, s.prunedMs, s.originalMs);
        const r2 = planLatency(m.graph, scores, makeLatencyModel(refit, m.graph), costs, target, {
          maxRatio: 0.9,
        });
        const s2 = await speedup(original, artifacts, m, r2.plan);
        row(
          `${name}: the same after one measured proposal (refit): stated ${r2.predictedSpeedup.toFixed(2)}x`,
          `measured ${s2.text}; measured/stated ${(s2.ratio / r2.predictedSpeedup).toFixed(2)}; FLOPs /${(base.flops / r2.reached.flops).toFixed(2)}`,
          'measured within 10% of stated',
        );
      }
      // The verified plan (planLatencyMeasured: plan, measure, refit, re-plan, at most 2 measurements),
      // then measured once more here, independently of the loop's own measurements.
      {
        const target = { kind: 'speedup' as const, factor: 2 };
        const t0 = performance.now();
        const r = await planLatencyMeasured(m, cal, scores, costs, target, { maxRatio: 0.9, original });
        const took = (performance.now() - t0) / 1000;
        const s = await speedup(original, artifacts, m, r.plan);
        row(
          `${name}: verified plan "2x faster" (${r.proposals.length} measured in ${took.toFixed(1)} s: ${r.proposals.map((p) => `${p.predictedSpeedup.toFixed(2)}->${p.measuredSpeedup.toFixed(2)}`).join(', ')}): stated ${r.predictedSpeedup.toFixed(2)}x`,
          `measured ${s.text}; measured/stated ${(s.ratio / r.predictedSpeedup).toFixed(2)}; FLOPs /${(base.flops / r.reached.flops).toFixed(2)}`,
          'measured within 10% of stated',
        );
      }
      // FLOPs-target plans: measured speed-up against the FLOPs ratio.
      for (const fraction of [0.3, 0.5]) {
        const r = planGlobal(m.graph, scores, costs, { kind: 'flops', fraction }, { maxRatio: 0.9 });
        const s = await speedup(original, artifacts, m, r.plan);
        const flopsRatio = base.flops / r.reached.flops;
        const predicted = cal.baselineMs / lm.predict(r.plan);
        row(
          `${name}: FLOPs plan -${fraction * 100}% (L1, mean, max 90%): FLOPs /${flopsRatio.toFixed(2)}`,
          `measured ${s.text}; measured/FLOPs ratio ${(s.ratio / flopsRatio).toFixed(2)}; latency model said ${predicted.toFixed(2)}x`,
          '>= 0.9 of the FLOPs ratio',
        );
      }
      // The same targets ranked for speed here (planGlobalForSpeed, the page's default once calibrated
      // and the CLI's --for-speed): measured speed-up against the FLOPs ratio.
      for (const fraction of [0.3, 0.5]) {
        const r = planGlobalForSpeed(
          m.graph,
          scores,
          costs,
          lm,
          { kind: 'flops', fraction },
          { maxRatio: 0.9 },
        );
        const s = await speedup(original, artifacts, m, r.plan);
        row(
          `${name}: FLOPs plan -${fraction * 100}% ranked for speed here (strength ${r.strength}, ${r.importanceRatio.toFixed(2)}x the importance removed): FLOPs /${r.flopsRatio.toFixed(2)}`,
          `measured ${s.text}; measured/FLOPs ratio ${(s.ratio / r.flopsRatio).toFixed(2)}; predicted ${r.predictedSpeedup.toFixed(2)}x (plain ranking ${r.plain.predictedSpeedup.toFixed(2)}x)`,
          '>= 0.9 of the FLOPs ratio',
        );
      }
      const uniform = planLowestFraction(m.graph, scoreGroups(m.ir, m.artifacts, m.graph, 'l1'), 0.3);
      const s = await speedup(original, artifacts, m, uniform);
      const flopsRatio = base.flops / costs.evaluate(uniform).flops;
      row(
        `${name}: 30% of every layer (L1): FLOPs /${flopsRatio.toFixed(2)}, latency model ${(cal.baselineMs / lm.predict(uniform)).toFixed(2)}x`,
        `measured ${s.text}; measured/FLOPs ratio ${(s.ratio / flopsRatio).toFixed(2)}`,
      );
    } finally {
      original.dispose();
    }
  }
}

/** A trained model nobody here wrote (Teachable Machine's MobileNetV2, ImageNet base): plain vs for-speed FLOPs plans. */
export async function benchTrained(row: Row): Promise<void> {
  const file = join(import.meta.dirname, '../../shared/fixtures/keras/k2_teachable_machine_mobilenetv2.h5');
  if (!existsSync(file)) {
    row('Teachable Machine MobileNetV2 (trained)', 'skipped: ../shared/fixtures/keras not here');
    return;
  }
  const m = await loadModel([
    { path: 'k2_teachable_machine_mobilenetv2.h5', bytes: new Uint8Array(readFileSync(file)) },
  ]);
  const costs = makeCostModel(m.ir, m.graph);
  const scores = normalizeScores(scoreGroups(m.ir, m.artifacts, m.graph, 'l1'), 'mean');
  const original = await loadLayersModelFromArtifacts(m.artifacts);
  try {
    const cal = await calibrateLatency(m);
    const lm = makeLatencyModel(cal, m.graph);
    for (const fraction of [0.3, 0.5]) {
      const r = planGlobalForSpeed(
        m.graph,
        scores,
        costs,
        lm,
        { kind: 'flops', fraction },
        { maxRatio: 0.9 },
      );
      const plain = planGlobal(m.graph, scores, costs, { kind: 'flops', fraction }, { maxRatio: 0.9 });
      const p = await speedup(original, m.artifacts, m, plain.plan);
      const s = await speedup(original, m.artifacts, m, r.plan);
      const ratio = r.flopsRatio;
      const plainRatio = plain.baseline.flops / plain.reached.flops;
      row(
        `Teachable Machine MobileNetV2 (trained, 224x224): FLOPs -${fraction * 100}%, plain ranking vs ranked for speed (strength ${r.strength}, ${r.importanceRatio.toFixed(2)}x the importance)`,
        `plain ${p.text} = ${(p.ratio / plainRatio).toFixed(2)} of FLOPs /${plainRatio.toFixed(2)}; for speed ${s.text} = ${(s.ratio / ratio).toFixed(2)} of FLOPs /${ratio.toFixed(2)}; predicted ${r.predictedSpeedup.toFixed(2)}x (plain ${r.plain.predictedSpeedup.toFixed(2)}x)${r.shortBy ? `, short by ${r.shortBy}` : ''}`,
        '>= 0.9 of the FLOPs ratio',
      );
    }
  } finally {
    original.dispose();
  }
}
