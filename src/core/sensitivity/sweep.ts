/**
 * Accuracy against remaining FLOPs (or parameters) for global plans at several targets, one series
 * per criterion, with the random criterion as the baseline series: the chart that says whether a
 * criterion is worth its cost on this model (Blalock et al., "What is the state of neural network
 * pruning?", MLSys 2020, ask every paper for exactly this comparison).
 */
import type { SampleSet } from '../evaluate/sample-set';
import { makeCostModel, type CostModel } from '../metrics/costs';
import type { PlanOptions } from '../plan/auto';
import { planGlobal, type GlobalTarget } from '../plan/global';
import { applyPlan } from '../surgery/apply-plan';
import { normalizeScores, type Normalization } from '../scoring/normalize';
import { scoreGroups } from '../scoring/weights';
import { abortError } from '../evaluate/evaluate';
import type { ModelParts } from './sensitivity';
import { Progress, csvCell, headOf, scoreArtifacts, type JobOptions, type Scored } from './run';

export interface SweepOptions extends JobOptions, PlanOptions {
  /** Shares to remove (default 0.1 ... 0.7). */
  targets?: readonly number[];
  /** What the targets are shares of (default `'flops'`). */
  kind?: GlobalTarget['kind'];
  /** How scores are normalised before the global ranking (default `'mean'`). */
  normalize?: Normalization;
  /** Add a `random` series (default true; a number is its seed, default seed 0). Skipped when the scores already have one. */
  random?: boolean | number;
  costModel?: CostModel;
}

export interface SweepPoint {
  /** The share asked for. */
  target: number;
  /** Whether the plan reached it (the limits can stop it short). */
  met: boolean;
  params: number;
  flops: number;
  /** Shares left of the original's parameters and FLOPs, 0..1. */
  remainingParams: number;
  remainingFlops: number;
  /** Channels the plan removes. */
  removedChannels: number;
  accuracy: number | null;
  agreement: number;
}

export interface SweepSeries {
  criterion: string;
  points: SweepPoint[];
}

export interface SweepResult {
  kind: GlobalTarget['kind'];
  normalize: Normalization;
  samples: number;
  metric: 'accuracy' | 'agreement';
  baseline: { accuracy: number | null; params: number; flops: number };
  series: SweepSeries[];
}

/** The default targets: remove 10% ... 70%. */
export const DEFAULT_TARGETS: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];

/**
 * For every criterion in `scoresByCriterion` (criterion name -> raw scores, as `scoreGroups` or
 * `scoreGroupsWithData` returned them), plans `planGlobal` at each target on the normalised scores,
 * applies it, and measures accuracy (and agreement with the original) on the set; adds the random
 * baseline series unless told not to. Identical plans are evaluated once. Progress, abort and
 * yielding as `analyzeSensitivity`.
 * Example: `globalSweep(opened, {l1: l1Scores, taylor: taylorScores}, set, {targets: [0.25, 0.5]})`
 * gives three series (l1, taylor, random) of two points each.
 */
export async function globalSweep(
  model: ModelParts,
  scoresByCriterion: Readonly<Record<string, Record<string, Float32Array>>>,
  sampleSet: SampleSet,
  options: SweepOptions = {},
): Promise<SweepResult> {
  const { artifacts, ir, graph } = model;
  const set = headOf(sampleSet, options.maxSamples);
  const kind = options.kind ?? 'flops';
  const normalize = options.normalize ?? 'mean';
  const targets = [...(options.targets ?? DEFAULT_TARGETS)].sort((a, b) => a - b);
  const costs = options.costModel ?? makeCostModel(ir, graph);
  const base = costs.evaluate({ version: 1, remove: {} });
  const all: [string, Record<string, Float32Array>][] = Object.entries(scoresByCriterion);
  if (options.random !== false && !('random' in scoresByCriterion)) {
    const seed = typeof options.random === 'number' ? options.random : 0;
    all.push(['random', scoreGroups(ir, artifacts, graph, 'random', { seed })]);
  }
  const planOptions: PlanOptions = {};
  if (options.maxRatio !== undefined) planOptions.maxRatio = options.maxRatio;
  if (options.roundTo !== undefined) planOptions.roundTo = options.roundTo;
  if (options.ignore) planOptions.ignore = options.ignore;
  if (options.layers) planOptions.layers = options.layers;
  const plans = all.map(([criterion, raw]) => {
    const scores = normalizeScores(raw, normalize);
    return {
      criterion,
      results: targets.map((fraction) => planGlobal(graph, scores, costs, { kind, fraction }, planOptions)),
    };
  });
  const distinct = new Set(plans.flatMap((p) => p.results.map((r) => JSON.stringify(r.plan.remove))));
  const progress = new Progress(1 + distinct.size, options.onProgress);

  const original = await scoreArtifacts(artifacts, set, null, options);
  progress.step();
  const seen = new Map<string, Scored>([[JSON.stringify({}), original]]);
  const series: SweepSeries[] = [];
  for (const { criterion, results } of plans) {
    const points: SweepPoint[] = [];
    for (const [i, r] of results.entries()) {
      const key = JSON.stringify(r.plan.remove);
      let scored = seen.get(key);
      if (!scored) {
        if (options.signal?.aborted) throw abortError('The sweep was cancelled.');
        const pruned = applyPlan(artifacts, r.plan, ir, graph).artifacts;
        scored = await scoreArtifacts(pruned, set, original.predictions, options);
        seen.set(key, scored);
        progress.step();
        if (options.yieldEvery) await options.yieldEvery();
      }
      points.push({
        target: targets[i]!,
        met: r.met,
        params: r.reached.params,
        flops: r.reached.flops,
        remainingParams: base.params > 0 ? r.reached.params / base.params : 1,
        remainingFlops: base.flops > 0 ? r.reached.flops / base.flops : 1,
        removedChannels: r.baseline.channels - r.reached.channels,
        accuracy: scored.accuracy,
        agreement: scored.agreement,
      });
    }
    series.push({ criterion, points });
  }
  return {
    kind,
    normalize,
    samples: set.count,
    metric: set.labels !== null ? 'accuracy' : 'agreement',
    baseline: { accuracy: original.accuracy, params: base.params, flops: base.flops },
    series,
  };
}

/** The sweep as CSV: `criterion,target,met,params,flops,remaining_params,remaining_flops,removed_channels,accuracy,agreement`. */
export function sweepToCsv(result: SweepResult): string {
  const rows: (string | number | boolean | null)[][] = [
    [
      'criterion',
      'target',
      'met',
      'params',
      'flops',
      'remaining_params',
      'remaining_flops',
      'removed_channels',
      'accuracy',
      'agreement',
    ],
  ];
  for (const s of result.series) {
    for (const p of s.points) {
      rows.push([
        s.criterion,
        p.target,
        p.met,
        p.params,
        p.flops,
        p.remainingParams,
        p.remainingFlops,
        p.removedChannels,
        p.accuracy,
        p.agreement,
      ]);
    }
  }
  return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}
