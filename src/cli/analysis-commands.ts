/**
 * What `prunelab prune` needs to choose filters by any criterion (per layer or globally, to a
 * parameter, FLOP or channel budget), and the `prunelab sensitivity` command. main.ts parses the
 * common flags and calls in here; flags are checked before any model is read, so usage errors
 * exit 2 at once.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { OpenedModel } from '../core/load';
import { makeCostModel } from '../core/metrics/costs';
import {
  CRITERIA,
  NORMALIZATIONS,
  isDataBased,
  normalizeScores,
  scoreGroupsWithData,
  scoreGroups,
  type Criterion,
  type Normalization,
} from '../core/scoring';
import { planLowestFraction, removalCount, type PlanOptions } from '../core/plan/auto';
import { planGlobal, type GlobalPlanOptions, type GlobalTarget } from '../core/plan/global';
import { planGlobalForSpeed } from '../core/plan/speed-aware';
import type { PruningPlan } from '../core/plan/plan';
import { parseSampleSet, SampleSetError, type SampleSet } from '../core/evaluate/sample-set';
import { checkSamplesFit, samplesModelOf } from '../core/evaluate/samples-fit';
import { ModelLoadError } from '../core/io/errors';
import { loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import {
  DEFAULT_RATIOS,
  DEFAULT_TARGETS,
  analyzeSensitivity,
  globalSweep,
  sweepToCsv,
  toCsv,
} from '../core/sensitivity';
import { openModelAt } from './inputs';
import { checkOutput, writeOutputFile, writeOutputFiles } from '../node/write-output';
import { modelFingerprint } from '../core/io/fingerprint';
import {
  LATENCY_FLAG_HELP,
  LATENCY_FLAG_OPTIONS,
  latencyLine,
  parseLatencyFlags,
  planToLatency,
  calibrateForSpeed,
  speedReport,
  speedLine,
  type SpeedReport,
  type LatencyReport,
} from './latency-flags';
import type { LatencyTarget } from '../core/plan/latency-plan';

/** A mistake on the command line: exit code 2. */
export class UsageError extends Error {}

/** How Taylor sums over samples in the CLI (and the workbench): per sample first (see DataScoreOptions). */
const TAYLOR_MODE = 'sum-of-abs' as const;

/** The `prune` flags this module reads, for main.ts' `parseArgs` (`criterion` and `ratio` are main's). */
export const PLAN_FLAG_OPTIONS = {
  normalize: { type: 'string' },
  global: { type: 'boolean' },
  'target-params': { type: 'string' },
  'target-flops': { type: 'string' },
  'round-to': { type: 'string' },
  align: { type: 'string' },
  'max-ratio': { type: 'string' },
  ignore: { type: 'string' },
  samples: { type: 'string' },
  'max-samples': { type: 'string' },
  keep: { type: 'string', multiple: true },
  remove: { type: 'string', multiple: true },
  'layer-ratio': { type: 'string', multiple: true },
  ...LATENCY_FLAG_OPTIONS,
} as const;

/** What `prune` and `plan` both read: the output, the criterion and ratio, --json, --force, the plan flags. */
export const PLAN_COMMAND_OPTIONS = {
  out: { type: 'string' },
  criterion: { type: 'string' },
  ratio: { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  ...PLAN_FLAG_OPTIONS,
} as const;

/** The flags as `parseArgs` returns them. */
export interface PlanFlags {
  criterion?: string | undefined;
  ratio?: string | undefined;
  plan?: string | undefined;
  normalize?: string | undefined;
  global?: boolean | undefined;
  'target-params'?: string | undefined;
  'target-flops'?: string | undefined;
  'round-to'?: string | undefined;
  align?: string | undefined;
  'max-ratio'?: string | undefined;
  ignore?: string | undefined;
  samples?: string | undefined;
  'max-samples'?: string | undefined;
  keep?: string[] | undefined;
  remove?: string[] | undefined;
  'layer-ratio'?: string[] | undefined;
  'target-latency'?: string | undefined;
  'target-speedup'?: string | undefined;
  'for-speed'?: boolean | undefined;
}

/** One `--keep conv1=20`, `--remove conv1=44` or `--layer-ratio conv2=0.5`. */
export interface LayerSpec {
  layer: string;
  kind: 'keep' | 'remove' | 'ratio';
  value: number;
  /** The flag as written, for messages. */
  flag: string;
}

/** The choice of filters the flags describe, checked. */
export interface PlanSettings {
  criterion: Criterion;
  /** Per layer: this share of every layer; global without a target: this share of all prunable channels. */
  ratio: number;
  normalize: Normalization;
  /** A global plan's target, or null for the same ratio in every layer. */
  target: GlobalTarget | null;
  options: GlobalPlanOptions;
  samples: string | null;
  maxSamples: number | undefined;
  /** Exact per-layer choices; with no global flag (`--ratio`, `--global`, `--target-*`) every other layer is left alone. */
  layers: LayerSpec[];
  /** Whether a global flag was given next to `layers` (then it plans the layers not named). */
  global: boolean;
  /** `--target-latency` / `--target-speedup` (latency-flags.ts). */
  latency?: LatencyTarget;
  /** `--for-speed`: rank the --target-flops plan for this machine's speed (latency-flags.ts). */
  forSpeed?: boolean;
}

export const PRUNE_PLAN_HELP = `      Choosing the filters (instead of --plan):
        --criterion <c>       l1 (default), l2, fpgm, bn-scale, random, or, computed on --samples,
                              apoz, mean-activation, taylor
        --ratio <r>           remove the lowest share r of every prunable layer (default 0.5)
        --global              rank all prunable channels together (scores normalised per layer)
                              and remove the lowest --ratio of all of them
        --target-params <f>   global, until a share f (0..1) of the model's parameters is removed
        --target-flops <f>    global, until a share f (0..1) of the model's FLOPs is removed
        --normalize <n>       none, mean (default) or lamp: how scores are made comparable across
                              layers for a global ranking
        --max-ratio <r>       remove at most this share (0..1] of any one layer
        --round-to <n>        keep a multiple of n filters in every pruned layer
        --align <n>           global plans: between nearly equal scores, prefer kept counts that
                              are multiples of n (default 8, the SIMD tile wasm runs best; 1: off)
        --ignore <a,b>        layers to leave alone (a name ending in / names a nested model)
        --keep <layer=n>      keep exactly n filters of that layer (its lowest-scored go)
        --remove <layer=n>    remove exactly that layer's n lowest-scored filters
        --layer-ratio <layer=r>  remove the lowest share r of that layer's filters
                              (each repeatable; a layer is named by any producer of its group).
                              Naming layers leaves every other layer alone, unless --ratio,
                              --global or --target-* is also given: that then plans the others.
${LATENCY_FLAG_HELP}
        --samples <set.plss>  the sample set data-based criteria are computed on
        --max-samples <n>     use only the first n samples for scoring
      The summary (--json) states the parameters and FLOPs reached and whether a target was met.`;

export const SENSITIVITY_HELP = `  prunelab sensitivity <model> --samples <set.plss> --out <prefix> [--criterion l1]
                 [--groups N] [--ratios 0.1,0.2,...,0.9] [--max-samples n] [--batch-size 64]
                 [--sweep] [--normalize mean] [--force] [--json]
      Prunes each prunable layer alone at each ratio (default 10% to 90%) by --criterion and
      measures accuracy on the sample set (agreement with the original without labels); --groups N
      analyses only the N layers with most parameters at stake. Writes <prefix>.csv (one row per
      layer and ratio) and <prefix>.json. --sweep also writes <prefix>-sweep.csv/.json: global
      plans removing 10% to 70% of the FLOPs by --criterion and by random scores, measured the same way.
      Existing output files are refused unless --force; each is written whole or not at all.`;

function fraction(flag: string, v: string, { open = false }: { open?: boolean } = {}): number {
  const x = Number(v);
  const ok = v.trim() !== '' && Number.isFinite(x) && x > 0 && (open ? x < 1 : x <= 1);
  if (!ok) throw new UsageError(`--${flag} must be a number in (0, ${open ? '1)' : '1]'}, got '${v}'.`);
  return x;
}

function positiveInt(flag: string, v: string): number {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1))
    throw new UsageError(`--${flag} must be a whole number >= 1, got '${v}'.`);
  return x;
}

/** Checks a `--criterion` value. */
export function parseCriterion(v: string | undefined): Criterion {
  const c = v ?? 'l1';
  if (!CRITERIA.some((k) => k.id === c)) {
    throw new UsageError(
      `Unknown --criterion '${c}'. Choose one of: ${CRITERIA.map((k) => k.id).join(', ')}.`,
    );
  }
  return c as Criterion;
}

function parseNormalize(v: string | undefined): Normalization {
  const n = v ?? 'mean';
  if (!NORMALIZATIONS.some((k) => k.id === n)) {
    throw new UsageError(
      `Unknown --normalize '${n}'. Choose one of: ${NORMALIZATIONS.map((k) => k.id).join(', ')}.`,
    );
  }
  return n as Normalization;
}

/** Checks every filter-choosing flag of `prune` (before any file is read); throws `UsageError`. */
export function parsePlanFlags(v: PlanFlags): PlanSettings {
  const targetParams = v['target-params'];
  const targetFlops = v['target-flops'];
  if (targetParams !== undefined && targetFlops !== undefined) {
    throw new UsageError('Give one of --target-params and --target-flops, not both.');
  }
  // --criterion and --ratio were ignored next to --plan before these flags existed: still accepted.
  const choosing = [
    ['--global', v.global],
    ['--target-params', targetParams],
    ['--target-flops', targetFlops],
    ['--normalize', v.normalize],
    ['--round-to', v['round-to']],
    ['--align', v.align],
    ['--max-ratio', v['max-ratio']],
    ['--ignore', v.ignore],
  ].filter(([, x]) => x !== undefined && x !== false);
  if (v.plan !== undefined && choosing.length > 0) {
    throw new UsageError(
      `--plan gives the filters exactly; it cannot be combined with ${choosing.map(([f]) => String(f)).join(', ')}.`,
    );
  }
  if ((targetParams !== undefined || targetFlops !== undefined) && v.ratio !== undefined) {
    throw new UsageError(
      '--ratio is a share of channels; with --target-params or --target-flops leave it out.',
    );
  }
  const ratio = Number(v.ratio ?? '0.5');
  if (!(ratio >= 0 && ratio < 1)) throw new UsageError(`--ratio must be in [0, 1), got '${v.ratio}'.`);
  const criterion = parseCriterion(v.criterion);
  const normalize = parseNormalize(v.normalize);
  if (isDataBased(criterion) && v.samples === undefined && v.plan === undefined) {
    throw new UsageError(
      `--criterion ${criterion} is computed on a sample set: add --samples <set.plss> (a labelled set uses its labels).`,
    );
  }
  let target: GlobalTarget | null = null;
  if (targetParams !== undefined)
    target = { kind: 'params', fraction: fraction('target-params', targetParams, { open: true }) };
  else if (targetFlops !== undefined)
    target = { kind: 'flops', fraction: fraction('target-flops', targetFlops, { open: true }) };
  else if (v.global) target = { kind: 'channels', fraction: ratio };
  const options: GlobalPlanOptions = {};
  if (v.align !== undefined) options.align = positiveInt('align', v.align);
  if (v['max-ratio'] !== undefined) options.maxRatio = fraction('max-ratio', v['max-ratio']);
  if (v['round-to'] !== undefined) options.roundTo = positiveInt('round-to', v['round-to']);
  if (v.ignore !== undefined) {
    const names = v.ignore
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (names.length === 0) throw new UsageError('--ignore needs layer names, separated by commas.');
    options.ignore = names;
  }
  const maxSamples =
    v['max-samples'] === undefined ? undefined : positiveInt('max-samples', v['max-samples']);
  const layers = [
    ...(v.keep ?? []).map((x) => layerSpec('keep', x)),
    ...(v.remove ?? []).map((x) => layerSpec('remove', x)),
    ...(v['layer-ratio'] ?? []).map((x) => layerSpec('layer-ratio', x)),
  ];
  if (v.plan !== undefined && layers.length > 0) {
    throw new UsageError(
      `--plan gives the filters exactly; it cannot be combined with ${layers.map((l) => l.flag).join(', ')}.`,
    );
  }
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.layer)) throw new UsageError(`Layer '${l.layer}' is named twice (${l.flag}).`);
    seen.add(l.layer);
  }
  const latency = parseLatencyFlags(v, (message) => new UsageError(message));
  if (latency && (target !== null || layers.length > 0 || v.plan !== undefined || v.ratio !== undefined)) {
    throw new UsageError(
      '--target-latency / --target-speedup plan every layer to a latency; leave out --plan, --ratio, --global, --target-params/-flops and per-layer flags.',
    );
  }
  if (v['for-speed'] && target?.kind !== 'flops') {
    throw new UsageError(
      "--for-speed ranks a FLOPs target for this machine's speed: give --target-flops (for a speed target, --target-speedup).",
    );
  }
  const global = v.ratio !== undefined || v.global === true || target !== null;
  return {
    ...(latency ? { latency } : {}),
    ...(v['for-speed'] ? { forSpeed: true } : {}),
    criterion,
    ratio,
    normalize,
    target,
    options,
    samples: v.samples ?? null,
    maxSamples,
    layers,
    global,
  };
}

/** Parses `conv1=20` for `--keep`/`--remove` (a whole number) or `--layer-ratio` (a share in [0, 1)). */
function layerSpec(flag: 'keep' | 'remove' | 'layer-ratio', text: string): LayerSpec {
  const at = text.lastIndexOf('=');
  const layer = at > 0 ? text.slice(0, at).trim() : '';
  const raw = at > 0 ? text.slice(at + 1).trim() : '';
  const value = Number(raw);
  const written = `--${flag} ${text}`;
  if (layer === '' || raw === '') {
    throw new UsageError(
      `${written}: write it as <layer>=<${flag === 'layer-ratio' ? 'share' : 'count'}>, e.g. --${flag} conv1=${flag === 'layer-ratio' ? '0.5' : '20'}.`,
    );
  }
  if (flag === 'layer-ratio') {
    if (!(value >= 0 && value < 1))
      throw new UsageError(`${written}: the share must be in [0, 1), got '${raw}'.`);
    return { layer, kind: 'ratio', value, flag: written };
  }
  const least = flag === 'keep' ? 1 : 0;
  if (!(Number.isInteger(value) && value >= least)) {
    throw new UsageError(`${written}: the count must be a whole number >= ${least}, got '${raw}'.`);
  }
  return { layer, kind: flag, value, flag: written };
}

/** Indices (ascending) of the `count` lowest scores; ties go to the lower index, NaN counts as lowest. */
function lowestIndices(scores: Float32Array, count: number): number[] {
  const key = (i: number) => (Number.isNaN(scores[i]!) ? -Infinity : scores[i]!);
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => key(a) - key(b) || a - b)
    .slice(0, count)
    .sort((a, b) => a - b);
}

/**
 * The exact removals the `--keep`/`--remove`/`--layer-ratio` specs ask for, by the scores; a layer
 * that is not a producer of a prunable group, or a count the layer does not have, is refused by name.
 * Example: `--keep conv1=20` on a 64-filter conv1 removes its 44 lowest-scored filters.
 */
export function planLayerSpecs(
  m: OpenedModel,
  scores: Record<string, Float32Array>,
  specs: readonly LayerSpec[],
  options: PlanOptions = {},
): Record<string, number[]> {
  const remove: Record<string, number[]> = {};
  const byGroup = new Map<number, string>();
  for (const spec of specs) {
    const id = m.graph.groupByProducer[spec.layer];
    const group = id === undefined ? undefined : m.graph.groups[id];
    if (!group) {
      const producers = m.graph.groups.filter((g) => g.prunable).map((g) => g.producer);
      const owner = m.graph.groupsByLayer[spec.layer]?.[0];
      const hint =
        owner !== undefined && m.graph.groups[owner]
          ? ` It belongs to the group of '${m.graph.groups[owner].producer}': name that instead.`
          : '';
      throw new UsageError(
        `${spec.flag}: '${spec.layer}' is not a layer that owns filters in this model.${hint} Prunable: ${producers.slice(0, 12).join(', ')}${producers.length > 12 ? `, ... (${producers.length})` : ''}.`,
      );
    }
    if (!group.prunable) {
      throw new UsageError(
        `${spec.flag}: '${spec.layer}' cannot be pruned: ${group.reason ?? 'not prunable'}.`,
      );
    }
    const other = byGroup.get(group.id);
    if (other !== undefined) {
      throw new UsageError(
        `${spec.flag}: '${spec.layer}' is in the same coupled group as '${other}', named already.`,
      );
    }
    byGroup.set(group.id, spec.layer);
    const size = group.size;
    let count: number;
    if (spec.kind === 'keep') {
      if (spec.value > size) throw new UsageError(`${spec.flag}: '${spec.layer}' has only ${size} filters.`);
      count = size - spec.value;
    } else if (spec.kind === 'remove') {
      if (spec.value >= size) {
        throw new UsageError(
          `${spec.flag}: '${spec.layer}' has ${size} filters; at most ${size - 1} can go (one is always kept).`,
        );
      }
      count = spec.value;
    } else count = removalCount(size, spec.value, options);
    const s = scores[group.producer];
    if (!s || s.length !== size) throw new Error(`No scores for '${group.producer}'.`);
    if (count > 0) remove[group.producer] = lowestIndices(s, count);
  }
  return remove;
}

/** A `.plss` set read from disk; its format errors are BAD_SAMPLES naming the file. */
export function parsePlssFile(bytes: Uint8Array, path: string): SampleSet {
  try {
    return parseSampleSet(bytes, path);
  } catch (e) {
    if (e instanceof SampleSetError) throw new ModelLoadError('BAD_SAMPLES', e.message, { file: path });
    throw e;
  }
}

/** A `.plss` set for model `m`, refused (BAD_SAMPLES naming the file) when empty or not made for it. */
async function readSampleSet(path: string, m: OpenedModel): Promise<SampleSet> {
  const bytes = await readFile(path).catch(() => {
    throw new ModelLoadError('BAD_SAMPLES', `Sample set '${path}' does not exist or cannot be read.`, {
      file: path,
    });
  });
  const set = parsePlssFile(new Uint8Array(bytes), path);
  checkSamplesFit(
    { count: set.count, shape: [set.height, set.width, set.channels], labels: set.labels },
    samplesModelOf(m.ir),
    path,
  );
  return set;
}

/** Raw scores of any criterion; data-based ones run the model on the sample set. */
async function scoresFor(
  m: OpenedModel,
  criterion: Criterion,
  samples: string | null,
  maxSamples: number | undefined,
): Promise<Record<string, Float32Array>> {
  if (!isDataBased(criterion)) return scoreGroups(m.ir, m.artifacts, m.graph, criterion);
  if (samples === null) throw new UsageError(`--criterion ${criterion} needs --samples <set.plss>.`);
  const set = await readSampleSet(samples, m);
  const model = await loadLayersModelFromArtifacts(m.artifacts);
  try {
    return await scoreGroupsWithData(model, m.ir, m.artifacts, m.graph, criterion, set, {
      taylor: TAYLOR_MODE,
      ...(maxSamples !== undefined ? { maxSamples } : {}),
    });
  } finally {
    model.dispose();
  }
}

/** What `prune --json` adds about how the filters were chosen, and what the plan reaches. */
export interface PlanReport {
  criterion: Criterion;
  mode: 'per-layer' | 'global';
  normalize?: Normalization;
  target?: GlobalTarget;
  /** Shares of the original's parameters, FLOPs and prunable channels removed, 0..1. */
  removedShare: { params: number; flops: number; channels: number };
  /** False when max-ratio, round-to, ignored layers or one kept filter per layer stop short of the target. */
  met: boolean;
  /** A latency target's prediction (and, after `prune`, measurement): latency-flags.ts. */
  latency?: LatencyReport;
  /** `--for-speed`: the FLOPs plan's predicted (and, after `prune`, measured) speed-up here. */
  speed?: SpeedReport;
}

/** The plan the flags describe for model `m`, and the report of what it reaches. */
export async function planFromFlags(
  m: OpenedModel,
  s: PlanSettings,
): Promise<{ plan: PruningPlan; report: PlanReport }> {
  const raw = await scoresFor(m, s.criterion, s.samples, s.maxSamples);
  if (s.latency) {
    const r = await planToLatency(m, s.latency, raw, s.normalize, s.options);
    r.plan.note = `${r.plan.note ?? 'latency'} by ${s.criterion} (${s.normalize})`;
    const report: PlanReport = {
      criterion: s.criterion,
      mode: 'global',
      normalize: s.normalize,
      removedShare: r.removed,
      met: r.met,
      latency: r.latency,
    };
    return { plan: r.plan, report };
  }
  const forSpeed = s.forSpeed ? await calibrateForSpeed(m) : undefined;
  if (s.layers.length === 0) return planFromScores(m, s, raw, forSpeed);
  const named = planLayerSpecs(m, raw, s.layers, s.options);
  const words = s.layers.map((l) => l.flag.replace(/^--/, '')).join(', ');
  let plan: PruningPlan;
  let report: PlanReport;
  if (s.global) {
    // The global flag plans every layer not named; the named ones get exactly what was asked.
    const ignore = [...(s.options.ignore ?? []), ...namedLayers(m, s.layers)];
    ({ plan, report } = planFromScores(m, { ...s, options: { ...s.options, ignore } }, raw, forSpeed));
    plan = { ...plan, remove: { ...plan.remove, ...named }, note: `${words}; others ${plan.note ?? ''}` };
  } else {
    plan = { version: 1, remove: named, note: `${words} by ${s.criterion}` };
    report = {
      criterion: s.criterion,
      mode: 'per-layer',
      removedShare: { params: 0, flops: 0, channels: 0 },
      met: true,
    };
  }
  return { plan, report: { ...report, removedShare: removedShares(m, plan) } };
}

/** Every member (producers and channel-wise layers) of the groups the specs name, for `ignore`. */
function namedLayers(m: OpenedModel, specs: readonly LayerSpec[]): string[] {
  return specs.flatMap((l) => {
    const g = m.graph.groups[m.graph.groupByProducer[l.layer] ?? -1];
    return g ? g.producers : [l.layer];
  });
}

/** Shares of the parameters, FLOPs and eligible channels a plan removes. */
function removedShares(m: OpenedModel, plan: PruningPlan): PlanReport['removedShare'] {
  const costs = makeCostModel(m.ir, m.graph);
  const before = costs.evaluate({ version: 1, remove: {} });
  const after = costs.evaluate(plan);
  const channels = m.graph.groups.filter((g) => g.prunable).reduce((n, g) => n + g.size, 0);
  const removed = Object.values(plan.remove).reduce((n, v) => n + v.length, 0);
  const share = (a: number, b: number) => (b > 0 ? (b - a) / b : 0);
  return {
    params: share(after.params, before.params),
    flops: share(after.flops, before.flops),
    channels: channels > 0 ? removed / channels : 0,
  };
}

/** The plan of the global flags (or the default per-layer ratio) from scores already computed. */
function planFromScores(
  m: OpenedModel,
  s: PlanSettings,
  raw: Record<string, Float32Array>,
  forSpeed?: Awaited<ReturnType<typeof calibrateForSpeed>>,
): { plan: PruningPlan; report: PlanReport } {
  const costs = makeCostModel(m.ir, m.graph);
  if (s.target) {
    const scores = normalizeScores(raw, s.normalize);
    const fast = forSpeed
      ? planGlobalForSpeed(m.graph, scores, costs, forSpeed.model, s.target, s.options)
      : undefined;
    const r = fast ?? planGlobal(m.graph, scores, costs, s.target, s.options);
    r.plan.note = `${r.plan.note ?? 'global'} by ${s.criterion} (${s.normalize})`;
    return {
      plan: r.plan,
      report: {
        criterion: s.criterion,
        mode: 'global',
        normalize: s.normalize,
        target: s.target,
        removedShare: r.removed,
        met: r.met,
        ...(fast && forSpeed ? { speed: speedReport(fast, forSpeed) } : {}),
      },
    };
  }
  const plan = planLowestFraction(m.graph, raw, s.ratio, s.options);
  plan.note = `${plan.note ?? `lowest ${s.ratio}`} by ${s.criterion}`;
  const before = costs.evaluate({ version: 1, remove: {} });
  const after = costs.evaluate(plan);
  const eligible = m.graph.groups.filter(
    (g) => g.prunable && !(s.options.ignore && s.options.ignore.includes(g.producer)),
  );
  const channels = eligible.reduce((n, g) => n + g.size, 0);
  const removed = Object.values(plan.remove).reduce((n, v) => n + v.length, 0);
  const share = (a: number, b: number) => (b > 0 ? (b - a) / b : 0);
  return {
    plan,
    report: {
      criterion: s.criterion,
      mode: 'per-layer',
      removedShare: {
        params: share(after.params, before.params),
        flops: share(after.flops, before.flops),
        channels: channels > 0 ? removed / channels : 0,
      },
      met: true,
    },
  };
}

/** One line for the text summary of `prune`. */
export function reportLine(r: PlanReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const what = r.target
    ? `Global ${r.target.kind === 'flops' ? 'FLOPs' : r.target.kind} target ${pct(r.target.fraction)} by ${r.criterion} (${r.normalize ?? 'mean'})${r.met ? '' : ' NOT MET (limits)'}`
    : `Per layer by ${r.criterion}`;
  if (r.latency) {
    return `${latencyLine(r.latency)}${r.met ? '' : ' NOT MET (limits)'}\nBy ${r.criterion} (${r.normalize ?? 'mean'}): removed ${pct(r.removedShare.params)} of the parameters, ${pct(r.removedShare.flops)} of the FLOPs.`;
  }
  return `${what}: removed ${pct(r.removedShare.params)} of the parameters, ${pct(r.removedShare.flops)} of the FLOPs.${r.speed ? `\n${speedLine(r.speed)}` : ''}`;
}

function parseRatios(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const ratios = parts.map((p) => Number(p));
  if (parts.length === 0 || parts.some((p) => p === '') || ratios.some((r) => !(r > 0 && r < 1))) {
    throw new UsageError(`--ratios must be numbers in (0, 1) separated by commas, got '${v}'.`);
  }
  return [...new Set(ratios)].sort((a, b) => a - b);
}

function progressLine(what: string): ((done: number, total: number, eta: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total, eta) =>
    process.stderr.write(
      `\r${what}: ${done}/${total}, about ${Math.round(eta)} s left   ${done === total ? '\n' : ''}`,
    );
}

/** `prunelab sensitivity`: per-layer curves (and optionally a global sweep) as CSV and JSON. */
export async function sensitivity(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      samples: { type: 'string' },
      out: { type: 'string' },
      criterion: { type: 'string' },
      groups: { type: 'string' },
      ratios: { type: 'string' },
      'max-samples': { type: 'string' },
      'batch-size': { type: 'string' },
      normalize: { type: 'string' },
      sweep: { type: 'boolean' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (!values.samples) throw new UsageError('sensitivity needs --samples <set.plss>.');
  if (!values.out)
    throw new UsageError('sensitivity needs --out <prefix> (writes <prefix>.csv and <prefix>.json).');
  const criterion = parseCriterion(values.criterion);
  const normalize = parseNormalize(values.normalize);
  const ratios = values.ratios === undefined ? [...DEFAULT_RATIOS] : parseRatios(values.ratios);
  const groups = values.groups === undefined ? undefined : positiveInt('groups', values.groups);
  const maxSamples =
    values['max-samples'] === undefined ? undefined : positiveInt('max-samples', values['max-samples']);
  const batchSize =
    values['batch-size'] === undefined ? undefined : positiveInt('batch-size', values['batch-size']);
  const path = positionals[0];
  if (!path) throw new UsageError('Missing the model argument (a model.json, a folder or a zip).');
  const prefix = values.out;
  const force = values.force === true;
  const outputs = [`${prefix}.csv`, `${prefix}.json`];
  if (values.sweep) outputs.push(`${prefix}-sweep.csv`, `${prefix}-sweep.json`);
  // Refused before the analysis, which takes long; written only when everything is measured.
  for (const o of outputs) await checkOutput(o, 'file', force);
  const m = await openModelAt(path, 'sensitivity');
  const set = await readSampleSet(values.samples, m);
  const scores = await scoresFor(m, criterion, values.samples, maxSamples);
  const costModel = makeCostModel(m.ir, m.graph);
  const job = {
    costModel,
    ...(maxSamples !== undefined ? { maxSamples } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
  };
  const t0 = performance.now();
  const result = await analyzeSensitivity(m, scores, set, {
    ...job,
    criterion,
    ratios,
    ...(groups !== undefined ? { groups } : {}),
    ...(progressLine('sensitivity') ? { onProgress: progressLine('sensitivity')! } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const written = [`${prefix}.csv`, `${prefix}.json`];
  const contents: { path: string; bytes: string }[] = [
    { path: written[0]!, bytes: toCsv(result) },
    { path: written[1]!, bytes: `${JSON.stringify(result, null, 2)}\n` },
  ];
  let sweepSeconds: number | undefined;
  if (values.sweep) {
    const t1 = performance.now();
    const sweep = await globalSweep(m, { [criterion]: scores }, set, {
      ...job,
      normalize,
      targets: DEFAULT_TARGETS,
      ...(progressLine('sweep') ? { onProgress: progressLine('sweep')! } : {}),
    });
    sweepSeconds = (performance.now() - t1) / 1000;
    written.push(`${prefix}-sweep.csv`, `${prefix}-sweep.json`);
    contents.push(
      { path: written[2]!, bytes: sweepToCsv(sweep) },
      { path: written[3]!, bytes: `${JSON.stringify(sweep, null, 2)}\n` },
    );
  }
  await writeOutputFiles(contents, { force });
  const summary = {
    criterion,
    samples: result.samples,
    metric: result.metric,
    baseline: result.baseline,
    layers: result.curves.map((c) => c.producer),
    ratios: result.ratios,
    evaluations: 1 + result.curves.reduce((n, c) => n + new Set(c.points.map((p) => p.removed)).size, 0),
    seconds,
    ...(sweepSeconds !== undefined ? { sweepSeconds } : {}),
    files: written,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const lines = [
    `Sensitivity by ${criterion} on ${result.samples} samples (${result.metric}; original ${result.baseline.accuracy === null ? 'n/a' : `${(result.baseline.accuracy * 100).toFixed(2)}%`}), ${seconds.toFixed(1)} s:`,
    `  ${'layer'.padEnd(24)} ${result.ratios.map((r) => `${Math.round(r * 100)}%`.padStart(7)).join('')}`,
    ...result.curves.map(
      (c) =>
        `  ${c.producer.padEnd(24)} ${c.points
          .map((p) =>
            `${((result.metric === 'accuracy' ? (p.accuracy ?? 0) : p.agreement) * 100).toFixed(1)}`.padStart(
              7,
            ),
          )
          .join('')}`,
    ),
    `Wrote ${written.join(', ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The `inspect --scores` part: raw per-filter scores of every prunable group by a criterion. */
export async function filterScores(
  m: OpenedModel,
  v: { criterion?: string | undefined; samples?: string | undefined; 'max-samples'?: string | undefined },
): Promise<{
  criterion: Criterion;
  groups: { producer: string; producers: string[]; size: number; scores: number[] }[];
}> {
  const criterion = parseCriterion(v.criterion);
  if (isDataBased(criterion) && v.samples === undefined) {
    throw new UsageError(`--criterion ${criterion} is computed on a sample set: add --samples <set.plss>.`);
  }
  const maxSamples =
    v['max-samples'] === undefined ? undefined : positiveInt('max-samples', v['max-samples']);
  const raw = await scoresFor(m, criterion, v.samples ?? null, maxSamples);
  const groups = m.graph.groups
    .filter((g) => g.prunable && raw[g.producer])
    .map((g) => ({
      producer: g.producer,
      producers: g.producers,
      size: g.size,
      scores: Array.from(raw[g.producer]!),
    }));
  return { criterion, groups };
}

/** The scores as text: one block per group, `index:score` in index order, the lowest marked `*` (first to go). */
export function scoresText(r: Awaited<ReturnType<typeof filterScores>>): string {
  const lines = [`Per-filter scores by ${r.criterion} (lower = removed first; * marks the lowest quarter):`];
  for (const g of r.groups) {
    const order = g.scores.map((_, i) => i).sort((a, b) => g.scores[a]! - g.scores[b]! || a - b);
    const low = new Set(order.slice(0, Math.floor(g.size / 4)));
    lines.push(`  ${g.producers.join(' + ')} (${g.size} filters):`);
    const cells = g.scores.map(
      (x, i) => `${String(i).padStart(4)}:${x.toPrecision(4).padEnd(10)}${low.has(i) ? '*' : ' '}`,
    );
    for (let i = 0; i < cells.length; i += 6) lines.push(`   ${cells.slice(i, i + 6).join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export const PLAN_HELP = `  prunelab plan <model> --out <plan.json> [the filter-choosing flags of prune] [--force] [--json]
      Writes the plan the flags describe (which filters of which layers go), without pruning, for
      review or editing before 'prunelab prune <model> --plan <plan.json>'. The file names the model
      by fingerprint, as the workbench's saved plans do, and is refused for any other model.`;

/** \`prunelab plan\`: the plan of the flags as a plan file. */
export async function planCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: PLAN_COMMAND_OPTIONS,
    allowPositionals: true,
  });
  if (!values.out) throw new UsageError('plan needs --out <plan.json>.');
  const settings = parsePlanFlags(values);
  const path = positionals[0];
  if (!path) throw new UsageError('Missing the model argument (a model.json, a folder or a zip).');
  const force = values.force === true;
  await checkOutput(values.out, 'file', force);
  const m = await openModelAt(path, 'plan');
  const { plan, report } = await planFromFlags(m, settings);
  const saved: PruningPlan = { ...plan, model: { fingerprint: modelFingerprint(m.ir), name: m.ir.name } };
  await writeOutputFile(values.out, new TextEncoder().encode(`${JSON.stringify(saved, null, 2)}\n`), {
    force,
  });
  const costs = makeCostModel(m.ir, m.graph);
  const before = costs.evaluate({ version: 1, remove: {} });
  const after = costs.evaluate(plan);
  const summary = {
    out: values.out,
    removed: Object.values(plan.remove).reduce((n, v) => n + v.length, 0),
    layers: Object.fromEntries(Object.entries(plan.remove).map(([k, v]) => [k, v.length])),
    params: { before: before.params, after: after.params },
    flops: { before: before.flops, after: after.flops },
    ...report,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const per = Object.entries(summary.layers).map(([k, n]) => `${k} -${n}`);
  process.stdout.write(
    `Plan: remove ${summary.removed} filters (${per.join(', ') || 'none'}). Params ${before.params} -> ${after.params}, FLOPs ${before.flops} -> ${after.flops}.\n${reportLine(report)}\nWrote ${values.out}\n`,
  );
}
