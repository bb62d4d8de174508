/**
 * Per-layer sensitivity analysis (Li et al. 2017, section 4.4; Distiller's `sensitivity_analysis`):
 * prune one group alone at 10%, 20%, ... 90% by a criterion's scores and measure what the model
 * still gets right on the sample set. A flat curve marks a layer that can lose much; a cliff one to
 * leave alone. `suggestRatios` turns the curves into per-layer ratios within an accuracy budget.
 *
 * Example: `const r = await analyzeSensitivity(opened, scores, set, {groups: 8})` measures the 8
 * groups with most parameters at 9 ratios (72 evaluations plus the original); `toCsv(r)` writes
 * them; `suggestPlan(r, 0.01, opened.graph, scores)` prunes each as far as it costs at most 1 point.
 */
import type { ModelArtifactsData } from '../ir/artifacts';
import type { ModelIR } from '../ir/model-ir';
import type { ChannelGraph, ChannelGroup } from '../graph/types';
import type { SampleSet } from '../evaluate/sample-set';
import { abortError } from '../evaluate/evaluate';
import { makeCostModel, type CostModel } from '../metrics/costs';
import { planRatios, removalCount, selectLowest, type SelectOptions } from '../plan/auto';
import type { PruningPlan } from '../plan/plan';
import { applyPlan } from '../surgery/apply-plan';
import { Progress, csvCell, headOf, scoreArtifacts, type JobOptions } from './run';

/** A model as the workbench holds it (`OpenedModel` fits). */
export interface ModelParts {
  artifacts: ModelArtifactsData;
  ir: ModelIR;
  graph: ChannelGraph;
}

/** One group pruned alone at one ratio. */
export interface SensitivityPoint {
  /** The ratio asked for, 0..1. */
  ratio: number;
  /** Channels removed: `floor(ratio * size)`, at least one kept (0: the original model). */
  removed: number;
  /** The pruned model's parameters and FLOPs. */
  params: number;
  flops: number;
  /** Top-1 accuracy on the labels, null for an unlabelled set. */
  accuracy: number | null;
  /** Share of samples where the pruned model's top-1 class equals the original's. */
  agreement: number;
}

/** One group's curve. */
export interface SensitivityCurve {
  /** The group, by its canonical producer. */
  producer: string;
  size: number;
  /** Parameters and FLOPs that go when all but one of the group's channels go (how much is at stake). */
  params: number;
  flops: number;
  points: SensitivityPoint[];
}

export interface SensitivityResult {
  /** The criterion whose scores chose the channels (informational). */
  criterion: string;
  samples: number;
  /** What `suggestRatios` compares: accuracy with labels, agreement with the original without. */
  metric: 'accuracy' | 'agreement';
  ratios: number[];
  /** The unpruned model. */
  baseline: { accuracy: number | null; params: number; flops: number };
  curves: SensitivityCurve[];
}

export interface SensitivityOptions extends JobOptions {
  /** Ratios to try, ascending (default 0.1, 0.2, ... 0.9). */
  ratios?: readonly number[];
  /** Which groups: all prunable (default), the N with most parameters at stake, or these producers. */
  groups?: number | readonly string[];
  /** Name of the criterion, recorded in the result. */
  criterion?: string;
  /** Called with each curve when it is complete, so a UI can draw (and keep) partial results. */
  onCurve?: (curve: SensitivityCurve) => void;
  /** A cost model for the IR and graph (made when omitted). */
  costModel?: CostModel;
}

/** The default ratios: 10% to 90% in steps of 10%. */
export const DEFAULT_RATIOS: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

function stake(g: ChannelGroup, costs: CostModel, base: { params: number; flops: number }) {
  const all = Array.from({ length: g.size - 1 }, (_, i) => i);
  const c = costs.evaluate({ version: 1, remove: { [g.producer]: all } });
  return { params: base.params - c.params, flops: base.flops - c.flops };
}

/** The groups to analyse, in graph order (or by stake when the N largest are asked for). */
function chooseGroups(
  graph: ChannelGraph,
  choice: SensitivityOptions['groups'],
  stakeOf: (g: ChannelGroup) => { params: number; flops: number },
): ChannelGroup[] {
  const prunable = graph.groups.filter((g) => g.prunable && g.size > 1);
  if (choice === undefined) return prunable;
  if (typeof choice === 'number') {
    return prunable
      .map((g) => ({ g, p: stakeOf(g).params }))
      .sort((a, b) => b.p - a.p || a.g.id - b.g.id)
      .slice(0, Math.max(0, Math.floor(choice)))
      .map((x) => x.g);
  }
  const ids = new Set<number>();
  for (const name of choice) {
    const id = graph.groupByProducer[name];
    const g = id === undefined ? undefined : graph.groups[id];
    if (!g) throw new Error(`'${name}' is not a producer of the model.`);
    if (!g.prunable)
      throw new Error(`'${name}' cannot be pruned: ${g.reason ?? 'its group is not prunable.'}`);
    ids.add(g.id);
  }
  return prunable.filter((g) => ids.has(g.id));
}

/**
 * For each chosen group, the model's accuracy (and agreement with the original) on `set` with that
 * group alone pruned at each ratio, the channels picked by `scores` (lowest first, as
 * `selectLowest`). Each point is `applyPlan` + `loadLayersModelFromArtifacts` + `evaluateModels`,
 * the model disposed after; ratios giving the same channel count are evaluated once. Reports
 * `(done, total, etaSeconds)` after every evaluation, checks `signal` between (and within) them.
 */
export async function analyzeSensitivity(
  model: ModelParts,
  scores: Readonly<Record<string, Float32Array>>,
  sampleSet: SampleSet,
  options: SensitivityOptions = {},
): Promise<SensitivityResult> {
  const { artifacts, ir, graph } = model;
  const set = headOf(sampleSet, options.maxSamples);
  const ratios = [...(options.ratios ?? DEFAULT_RATIOS)].sort((a, b) => a - b);
  const costs = options.costModel ?? makeCostModel(ir, graph);
  const base = costs.evaluate({ version: 1, remove: {} });
  const stakes = new Map<number, { params: number; flops: number }>();
  const stakeOf = (g: ChannelGroup) => {
    let s = stakes.get(g.id);
    if (!s) stakes.set(g.id, (s = stake(g, costs, base)));
    return s;
  };
  const groups = chooseGroups(graph, options.groups, stakeOf);
  const countsOf = (g: ChannelGroup) => ratios.map((r) => removalCount(g.size, r));
  const total = 1 + groups.reduce((n, g) => n + new Set(countsOf(g).filter((c) => c > 0)).size, 0);
  const progress = new Progress(total, options.onProgress);

  const original = await scoreArtifacts(artifacts, set, null, options);
  progress.step();
  const curves: SensitivityCurve[] = [];
  for (const g of groups) {
    const s = scores[g.producer];
    if (!s || s.length !== g.size) {
      throw new Error(`'${g.producer}' has ${g.size} channels but ${s?.length ?? 'no'} scores.`);
    }
    const byCount = new Map<number, SensitivityPoint>();
    const points: SensitivityPoint[] = [];
    for (const ratio of ratios) {
      const removed = removalCount(g.size, ratio);
      let known = byCount.get(removed);
      if (!known) {
        if (removed === 0) {
          known = {
            ratio,
            removed,
            params: base.params,
            flops: base.flops,
            accuracy: original.accuracy,
            agreement: 1,
          };
        } else {
          if (options.signal?.aborted) throw abortError('Sensitivity analysis was cancelled.');
          const plan: PruningPlan = { version: 1, remove: { [g.producer]: selectLowest(s, ratio) } };
          const pruned = applyPlan(artifacts, plan, ir, graph).artifacts;
          const r = await scoreArtifacts(pruned, set, original.predictions, options);
          const c = costs.evaluate(plan);
          known = {
            ratio,
            removed,
            params: c.params,
            flops: c.flops,
            accuracy: r.accuracy,
            agreement: r.agreement,
          };
          progress.step();
          if (options.yieldEvery) await options.yieldEvery();
        }
        byCount.set(removed, known);
      }
      points.push({ ...known, ratio });
    }
    const curve: SensitivityCurve = { producer: g.producer, size: g.size, ...stakeOf(g), points };
    curves.push(curve);
    options.onCurve?.(curve);
  }
  return {
    criterion: options.criterion ?? '',
    samples: set.count,
    metric: set.labels !== null ? 'accuracy' : 'agreement',
    ratios,
    baseline: { accuracy: original.accuracy, params: base.params, flops: base.flops },
    curves,
  };
}

/** The figure a result's metric reads from a point (accuracy, or agreement for an unlabelled set). */
export function metricOf(result: Pick<SensitivityResult, 'metric'>, p: SensitivityPoint): number {
  return result.metric === 'accuracy' ? (p.accuracy ?? Number.NaN) : p.agreement;
}

/**
 * The curves as CSV, one row per point: `producer,size,params_at_stake,ratio,removed,params,flops,accuracy,agreement`
 * (accuracy empty for an unlabelled set), after a row for the original model with producer empty.
 */
export function toCsv(result: SensitivityResult): string {
  const rows: (string | number | null)[][] = [
    ['producer', 'size', 'params_at_stake', 'ratio', 'removed', 'params', 'flops', 'accuracy', 'agreement'],
    ['', null, null, 0, 0, result.baseline.params, result.baseline.flops, result.baseline.accuracy, 1],
  ];
  for (const c of result.curves) {
    for (const p of c.points) {
      rows.push([
        c.producer,
        c.size,
        c.params,
        p.ratio,
        p.removed,
        p.params,
        p.flops,
        p.accuracy,
        p.agreement,
      ]);
    }
  }
  return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/**
 * Per group, the largest ratio whose metric drop from the original stays within `maxDrop` at that
 * ratio and every smaller one (a curve that dips and recovers stops at the dip); groups that cannot
 * lose even the smallest ratio are left out. Insensitive layers get pruned more.
 * Example: baseline 0.98, points 0.98, 0.975, 0.95 at 10/20/30%, `maxDrop` 0.01 -> 0.2.
 */
export function suggestRatios(result: SensitivityResult, maxDrop: number): Record<string, number> {
  const baseline = result.metric === 'accuracy' ? (result.baseline.accuracy ?? Number.NaN) : 1;
  const out: Record<string, number> = {};
  for (const c of result.curves) {
    let best = 0;
    for (const p of [...c.points].sort((a, b) => a.ratio - b.ratio)) {
      if (!(baseline - metricOf(result, p) <= maxDrop + 1e-12)) break;
      best = p.ratio;
    }
    if (best > 0) out[c.producer] = best;
  }
  return out;
}

/** `suggestRatios` made into a plan with the same scores (see `planRatios`). */
export function suggestPlan(
  result: SensitivityResult,
  maxDrop: number,
  graph: ChannelGraph,
  scores: Record<string, Float32Array>,
  options: SelectOptions = {},
): PruningPlan {
  const plan = planRatios(graph, scores, suggestRatios(result, maxDrop), options);
  plan.note = `sensitivity: at most ${+(maxDrop * 100).toFixed(2)} points of ${result.metric} per layer${result.criterion ? ` (${result.criterion})` : ''}`;
  return plan;
}
